"""A supervisor pauses or resumes an agent for the dialer: the agent's own state (the dialer
gives calls only to `available` agents), changed through screenpop.agents' store so every page
and engine sees it at once."""
from __future__ import annotations

import logging
import time

from aiohttp import web

from screenpop.agents import AgentState, StateError
from screenpop.push.hub import WATCHER_ROLES
from screenpop.web import auth
from screenpop.web.state import AGENT_STATES, USERS

log = logging.getLogger(__name__)

SUPERVISOR_PAUSE_REASON = "Pausa de supervisión"
MESSAGES = {
    "offline": "El asesor no tiene sesión abierta: no hay nada que pausar ni reanudar.",
    "in_call": "El asesor está en una llamada; páuselo cuando termine.",
    "bad_action": "Acción desconocida: use pausar o reanudar.",
    "not_agent": "Esa cuenta no es de un asesor.",
}


def paused_by_supervisor(current: AgentState, now: float) -> AgentState:
    """Pause (idempotent); an agent on a call or signed out cannot be paused."""
    if current.state == "paused":
        return current
    if current.state in ("offline", "in_call"):
        raise StateError(current.state)
    return current.moved("paused", now, reason=SUPERVISOR_PAUSE_REASON)


def resumed_by_supervisor(current: AgentState, now: float) -> AgentState:
    """Back to available from a pause (idempotent when available or in wrap-up)."""
    if current.state in ("available", "wrap_up"):
        return current
    if current.state in ("offline", "in_call"):
        raise StateError(current.state)
    return current.moved("available", now)


async def pause_or_resume(request: web.Request) -> web.Response:
    _, user, body = await auth.require_json_post(request)
    if user.role not in WATCHER_ROLES:
        return web.json_response({"error": "forbidden", "message": "Solo para supervisión."},
                                 status=403)
    action = body.get("action") if isinstance(body, dict) else None
    change = {"pause": paused_by_supervisor, "resume": resumed_by_supervisor}.get(action)
    if change is None:
        return web.json_response({"error": "bad_action", "message": MESSAGES["bad_action"]},
                                 status=400)
    username = request.match_info["username"]
    target = await request.app[USERS].get(username)
    if target is None or target.role != "agent":
        return web.json_response({"error": "not_agent", "message": MESSAGES["not_agent"]},
                                 status=404)
    now = time.time()
    try:
        state, changed = await request.app[AGENT_STATES].update(
            username, lambda current: change(current, now))
    except StateError as exc:
        return web.json_response({"error": exc.code, "message": MESSAGES[exc.code]}, status=409)
    if changed:
        log.info("agent %s %s by supervisor %s", username, action, user.username)
    return web.json_response({"ok": True, "agent": state.to_dict()})

