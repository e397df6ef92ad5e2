"""One answer, for every route, message and operation, to "which record is this call about"
(record.py) and "who may act on it" (access.py)."""
