"""Everything that can go wrong talking to WispHub, each with a message an operator can act on.

Messages are Spanish first (operators read them on /status) with the English after a slash.
"""
from __future__ import annotations


class WispHubError(Exception):
    """Base class: WispHub could not give us what we asked for. A write's error carries what
    was sent (`sent`) and what WispHub answered (`answer`) for the call's audit."""

    sent: dict | None = None
    answer: str = ""


class WispHubUnavailable(WispHubError):
    """Timeouts, connection failures, 5xx and Cloudflare 52x pages, after the retries."""


class WispHubAuthError(WispHubError):
    """401/403: wrong API key, a key from another WispHub host, or a user without permission."""


class WispHubRateLimited(WispHubError):
    """429 after the retries."""


class WispHubChallenge(WispHubError):
    """Cloudflare's bot check ("Just a moment...") answered instead of WispHub."""


class WispHubBadResponse(WispHubError):
    """An answer that is not what the route returns (HTML instead of JSON, unexpected shape,
    an unexpected redirect)."""


class WispHubApiError(WispHubError):
    """A DRF error answer (4xx with a JSON body) — the body is kept for the caller."""

    def __init__(self, message: str, status: int, body: object) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class PanelLoginError(WispHubError):
    """The staff panel refused the credentials (or the login form could not be used)."""


class PanelLayoutError(WispHubError):
    """The panel page no longer looks as this program expects; someone must update the parser."""
