"""The JSON API the agent page calls: search the index, link a call to a record."""
from __future__ import annotations

from aiohttp import web

from screenpop.pops import record_payload
from screenpop.web import auth
from screenpop.web.guided import publish_script
from screenpop.web.router import LinkError
from screenpop.web.state import INDEX, ROUTER

SEARCH_LIMIT = 10


async def search(request: web.Request) -> web.Response:
    await auth.require_api(request)
    query = request.query.get("q", "").strip()[:100]
    if len(query) < 2:
        return web.json_response({"results": []})
    records = await request.app[INDEX].search(query, limit=SEARCH_LIMIT)
    return web.json_response({"results": [record_payload(r) for r in records]})


async def link_call(request: web.Request) -> web.Response:
    _, user, body = await auth.require_json_post(request)
    preinstallation_id = body.get("preinstallation_id") if isinstance(body, dict) else None
    if not isinstance(preinstallation_id, (str, int)) or not str(preinstallation_id).strip():
        return web.json_response({"error": "preinstallation_id_required"}, status=400)
    try:
        pop = await request.app[ROUTER].link(user, request.match_info["call_id"],
                                             str(preinstallation_id).strip())
    except LinkError as exc:
        return web.json_response({"error": exc.code}, status=exc.status)
    await publish_script(request.app, user, request.match_info["call_id"])
    return web.json_response({"ok": True, "pop": pop})
