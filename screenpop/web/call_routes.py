"""The HTTP face of screenpop.calls.access: a route's call id checked for what it wants to do,
or the JSON error (400 / 403 / 404 with a Spanish message) raised for the route."""
from __future__ import annotations

import json

from aiohttp import web

from screenpop.calls.access import AccessDenied, CallGrant, Need
from screenpop.users import User
from screenpop.web.state import CALL_ACCESS

_ERRORS: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest, 403: web.HTTPForbidden, 404: web.HTTPNotFound}


async def require_call(request: web.Request, user: User, need: Need) -> CallGrant:
    try:
        return await request.app[CALL_ACCESS].check(user, request.match_info["call_id"], need)
    except AccessDenied as exc:
        raise _ERRORS[exc.status](text=json.dumps({"error": exc.code, "message": exc.message}),
                                  content_type="application/json") from None
