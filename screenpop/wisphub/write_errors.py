"""How a write to WispHub can end, as far as re-sending it is concerned.

`WispHubUnavailable` (and 429 / Cloudflare) before the request was delivered: nothing happened,
send again later. `WriteOutcomeUnknown`: delivered, no answer — WispHub may or may not have done
it, so look before sending again. `WriteRejected`: WispHub answered no, with its reasons.
"""
from __future__ import annotations

from screenpop.wisphub.errors import WispHubError, WispHubUnavailable


class WriteNotSent(WispHubUnavailable):
    """The write never reached WispHub (connection refused, Cloudflare could not reach it)."""


class WriteOutcomeUnknown(WispHubError):
    """The write was sent and no usable answer came back (timeout, 5xx, dropped connection)."""


class WriteRejected(WispHubError):
    """WispHub answered and refused the write; `reasons` are its messages."""

    def __init__(self, message: str, reasons: list[str] | None = None) -> None:
        super().__init__(message)
        self.reasons = list(reasons or [])
