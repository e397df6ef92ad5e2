"""Agent states over HTTP: the agent's own selector, the supervisor page and its JSON."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

from aiohttp import web
from redis.exceptions import RedisError

from common.tasks import cancel_requested
from screenpop import agents
from screenpop.campaigns.state import CAMPAIGN_LIVE
from screenpop.push.hub import WATCHER_ROLES
from screenpop.web import auth
from screenpop.web.state import AGENT_SETTINGS, AGENT_STATES, METRICS, USERS

log = logging.getLogger(__name__)

REAP_TIMEOUT = 10.0
_STATUS = {"in_call": 409, "bad_state": 400, "bad_reason": 400}


async def set_state(request: web.Request) -> web.Response:
    _, user, body = await auth.require_json_post(request)
    if not isinstance(body, dict):
        return web.json_response({"error": "bad_state"}, status=400)
    settings, now = request.app[AGENT_SETTINGS], time.time()
    try:
        state, changed = await request.app[AGENT_STATES].update(user.username, lambda current: (
            agents.choose(current, str(body.get("state")), body.get("reason"), now, settings)))
    except agents.StateError as exc:
        return web.json_response({"error": exc.code}, status=_STATUS[exc.code])
    if changed:
        log.info("agent state %s%s agent=%s", state.state,
                 f" ({state.reason})" if state.reason else "", user.username)
    return web.json_response({"ok": True, "agent": state.to_dict()})


async def _require_watcher(request: web.Request, *, page: bool):
    session, user = await (auth.require_page(request) if page else auth.require_api(request))
    if user.role not in WATCHER_ROLES:
        raise web.HTTPForbidden(text="Solo para supervisores.")
    return session, user


async def supervisor_page(request: web.Request) -> web.Response:
    session, user = await _require_watcher(request, page=True)
    return auth.render(request, "supervisor.html", user=user, csrf_token=session.csrf,
                       campaigns=CAMPAIGN_LIVE in request.app)


async def list_agents(request: web.Request) -> web.Response:
    """Every agent account (not supervisors, QA or admins), with its name and current state;
    an agent who never signed in is `offline`."""
    await _require_watcher(request, page=False)
    accounts = [user for user in await request.app[USERS].list() if user.role == "agent"]
    states = {state.username: state for state in await request.app[AGENT_STATES].all()}
    return web.json_response({"agents": [
        {**states.get(user.username, agents.AgentState(user.username)).to_dict(),
         "display_name": user.display_name} for user in accounts]})


async def run_wrapup_reaper(app: web.Application) -> AsyncIterator[None]:
    """Ends expired wrap-ups (every node runs it; the store's transaction makes it once)."""
    interval = min(1.0, max(0.05, app[AGENT_SETTINGS].wrapup_max / 4))

    async def reap_once(store: agents.AgentStateStore) -> None:
        for username in await store.due_wrapups(time.time()):
            await store.update(username, lambda state: agents.expire_wrapup(state, time.time()))

    async def reap() -> None:
        while not cancel_requested():
            try:
                await asyncio.wait_for(reap_once(app[AGENT_STATES]), REAP_TIMEOUT)
            except (RedisError, OSError, TimeoutError) as exc:
                app[METRICS].errors.labels("agent_states").inc()
                log.warning("wrap-up reaper: %s", exc)
            await asyncio.sleep(interval)

    task = asyncio.create_task(reap(), name="wrapup-reaper")
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
