"""Security headers on every response.

Framing is refused (X-Frame-Options DENY, frame-ancestors 'none'): softphones with a side panel
open the page as a top-level browser view, not inside a frame, so nothing needs to embed it.
Scripts only from /static (no inline script), so the CSP needs no 'unsafe-inline'.
Malformed call ids in paths are refused here, once for every route.
"""
from __future__ import annotations

from aiohttp import web

from screenpop.web import bodies


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    host = request.host
    headers = response.headers
    headers.setdefault("Content-Security-Policy", (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' ws://{host} wss://{host}; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"))
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if not request.path.startswith("/static/"):
        headers.setdefault("Cache-Control", "no-store")


@web.middleware
async def refuse_malformed_call_ids(request: web.Request, handler):
    """A call id in the path that no call can have is a 400 before any route reads it."""
    call_id = request.match_info.get("call_id")
    if call_id is not None and not bodies.valid_call_id(call_id):
        raise bodies.bad_call_id()
    return await handler(request)
