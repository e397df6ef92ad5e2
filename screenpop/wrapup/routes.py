"""The result of a call over HTTP: the panel's options and what was saved, saving it (CSRF; only
the agent who holds the call, screenpop.calls.access's ACT), and the agent's callbacks.

GET  /api/calls/{call_id}/disposition   options, the call's zone, campaign, saved result
POST /api/calls/{call_id}/disposition   {"disposition", "notes", "callback_date",
                                         "callback_time", "callback_for", "callback_agent"}
GET  /api/agent/callbacks               "Mis devoluciones"
POST /api/agent/callbacks/{call_id}/done the callback of a plain call made (CSRF)
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from redis.exceptions import RedisError

from common.db.pool import create_pool
from common.dialer.store import DialerStore
from common.tasks import cancel_and_wait
from screenpop.calls.access import Need
from screenpop.push import protocol
from screenpop.records import CALL_LOG
from screenpop.web import auth, bodies, csrf
from screenpop.web.call_routes import require_call
from screenpop.web.state import AGENT_STATES, CONFIG, INDEX, KEYS, REDIS, USERS
from screenpop.wrapup.lead import Database
from screenpop.wrapup.pending import PendingDispositions
from screenpop.wrapup.service import WrapUp, WrapUpError
from screenpop.wrapup.settings import DispositionSettings
from screenpop.wrapup.store import WrapUpStore

log = logging.getLogger(__name__)

WRAPUP = web.AppKey("wrapup", WrapUp)
_DATABASE = web.AppKey("wrapup_database", dict)


def add_wrapup_routes(app: web.Application, settings: DispositionSettings,
                      database_url: str | None) -> None:
    """Registers the routes; with `database_url`, a pool (no connection opened at start-up: a
    database outage never keeps screenpop from starting) for dialer leads and callbacks."""
    holder: dict[str, Database] = {}
    app[_DATABASE] = holder
    pending = PendingDispositions(app[REDIS], app[KEYS], lambda: holder.get("db"))
    app[WRAPUP] = WrapUp(settings, database=lambda: holder.get("db"), call_log=app[CALL_LOG],
                         states=app[AGENT_STATES], users=app[USERS], index=app[INDEX],
                         pending=pending, default_zone=app[CONFIG].tz_name)
    if database_url:
        app.cleanup_ctx.append(_pool(database_url))
        app.cleanup_ctx.append(_retries(pending))
    app.router.add_get("/api/calls/{call_id}/disposition", get_disposition)
    app.router.add_post("/api/calls/{call_id}/disposition", save_disposition)
    app.router.add_get("/api/agent/callbacks", callbacks)
    app.router.add_post("/api/agent/callbacks/{call_id}/done", callback_done)


def _pool(url: str):
    async def run(app: web.Application) -> AsyncIterator[None]:
        pool = await create_pool(url, min_size=0, max_size=4)
        app[_DATABASE]["db"] = Database(WrapUpStore(pool), DialerStore(
            pool, default_zone=app[CONFIG].tz_name))
        yield
        app[_DATABASE].pop("db", None)
        await pool.close()
    return run


def _retries(pending: PendingDispositions):
    async def run(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(pending.run(), name="pending-dispositions")
        yield
        await cancel_and_wait(task)
    return run


def _error(exc: WrapUpError) -> web.Response:
    return web.json_response({"error": exc.code, "message": exc.message}, status=exc.status)


async def get_disposition(request: web.Request) -> web.Response:
    _, user = await auth.require_api(request)
    grant = await require_call(request, user, Need.READ)
    try:
        return web.json_response(await request.app[WRAPUP].context(user, grant))
    except WrapUpError as exc:
        return _error(exc)


async def _checked_post(request: web.Request):
    session, user = await auth.require_api(request)
    if not csrf.same_token(session.csrf, request.headers.get("X-CSRF-Token")):
        raise web.HTTPForbidden(text=json.dumps({
            "error": "csrf", "message": "La página caducó: recárguela e intente de nuevo."}),
            content_type="application/json")
    return user


async def save_disposition(request: web.Request) -> web.Response:
    user = await _checked_post(request)
    body = await bodies.read_json(request)
    grant = await require_call(request, user, Need.ACT)
    try:
        result = await request.app[WRAPUP].save(user, grant, body)
    except WrapUpError as exc:
        return _error(exc)
    app = request.app
    try:
        await app[REDIS].publish(app[KEYS].agent_channel(user.username),
                                 json.dumps(protocol.disposition(grant.call_id, result["saved"])))
    except (RedisError, OSError, TimeoutError) as exc:  # saved; only the other tabs miss it
        log.warning("saved disposition not announced agent=%s call=%s: %s", user.username,
                    grant.call_id, exc)
    return web.json_response(result)


async def callbacks(request: web.Request) -> web.Response:
    _, user = await auth.require_api(request)
    try:
        return web.json_response({"callbacks": await request.app[WRAPUP].callbacks(user)})
    except WrapUpError as exc:
        return _error(exc)


async def callback_done(request: web.Request) -> web.Response:
    user = await _checked_post(request)
    try:
        await request.app[WRAPUP].callback_done(user, request.match_info["call_id"])
    except WrapUpError as exc:
        return _error(exc)
    return web.json_response({"ok": True})
