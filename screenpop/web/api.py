"""The JSON API the agent page calls: search the index, link a call to a record."""
from __future__ import annotations

from aiohttp import web

from common.phones import to_e164
from screenpop.calls.access import Need
from screenpop.pops import agent_leg, record_payload
from screenpop.web import auth
from screenpop.web.call_routes import require_call
from screenpop.web.guided import publish_script
from screenpop.web.state import CALL_RECORDS, INDEX, ROUTER

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
    grant = await require_call(request, user, Need.PREPARE)
    update = grant.update
    leg = agent_leg(update, user.endpoints) if update is not None else None
    if update is None or update.state == "ended" or leg is None or leg[1] not in (
            "ringing", "answered"):
        return web.json_response({"error": "call_not_live", "message": (
            "La llamada ya terminó: ya no se puede vincular.")}, status=409)
    try:
        record = await request.app[CALL_RECORDS].link(
            grant.call_id, to_e164(update.customer_number), str(preinstallation_id).strip())
    except KeyError:
        return web.json_response({"error": "unknown_preinstallation", "message": (
            "No existe esa preinstalación: búsquela de nuevo.")}, status=404)
    pop = await request.app[ROUTER].announce_link(user, update, leg, record)
    await publish_script(request.app, user, grant.call_id, update)
    return web.json_response({"ok": True, "pop": pop})
