"""The QA desk: call records filtered and exported, scorecards, evaluations, disputes,
calibration, the daily sampling queue, charts and retention (PostgreSQL)."""
