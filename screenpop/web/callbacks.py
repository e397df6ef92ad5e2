"""GET /api/callbacks: the IVR's pending callbacks for the supervisor page (ivr-callbacks.js)."""
from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web
from redis.exceptions import RedisError

from screenpop.callbacks import CallbackBoard
from screenpop.push.hub import WATCHER_ROLES
from screenpop.web import auth
from screenpop.web.state import INDEX, KEYS, REDIS

log = logging.getLogger(__name__)

READ_TIMEOUT = 3.0


async def list_callbacks(request: web.Request) -> web.Response:
    _, user = await auth.require_api(request)
    if user.role not in WATCHER_ROLES:
        raise web.HTTPForbidden(text="Solo para supervisores.")
    board = CallbackBoard(request.app[REDIS], request.app[KEYS], request.app[INDEX])
    try:
        view = await asyncio.wait_for(board.snapshot(time.time()), READ_TIMEOUT)
    except (RedisError, OSError, TimeoutError) as exc:
        log.warning("callbacks board unavailable: %s", exc)
        return web.json_response({"error": "redis_unavailable",
                                  "message": "No se pudieron leer las devoluciones de llamada "
                                             "pendientes; se reintentará en unos segundos."},
                                 status=503)
    return web.json_response(view)


def add_callback_routes(app: web.Application) -> None:
    app.router.add_get("/api/callbacks", list_callbacks)
