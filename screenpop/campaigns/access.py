"""Who may use the campaign pages (supervisor and admin), the CSRF check of their POSTs, and
the Spanish answer when PostgreSQL or Redis does not."""
from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

import asyncpg
from aiohttp import web
from redis.exceptions import RedisError

from screenpop.push.hub import WATCHER_ROLES
from screenpop.users import User
from screenpop.web import auth, csrf
from screenpop.web.sessions import Session
from screenpop.web.state import TEMPLATES

log = logging.getLogger(__name__)

DB_TROUBLE = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError, RedisError)


def page_error(request: web.Request, status: int, message: str, user: User | None = None,
               session: Session | None = None) -> web.HTTPException:
    html = request.app[TEMPLATES].get_template("campaigns_error.html").render(
        message=message, user=user, csrf_token=session.csrf if session else "")
    cls = {400: web.HTTPBadRequest, 403: web.HTTPForbidden, 404: web.HTTPNotFound,
           409: web.HTTPConflict, 503: web.HTTPServiceUnavailable}[status]
    return cls(text=html, content_type="text/html")


def wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "") \
        or "X-CSRF-Token" in request.headers


async def supervisor(request: web.Request) -> tuple[Session, User]:
    session, user = await auth.require_page(request)
    if user.role not in WATCHER_ROLES:
        raise page_error(request, 403, "Las campañas son solo para supervisión y "
                                        "administración.", user, session)
    return session, user


async def supervisor_post(request: web.Request) -> tuple[Session, User, dict, dict]:
    """A state-changing request of a supervisor: CSRF checked (form field or header); returns
    the single-valued fields and the repeated ones."""
    if wants_json(request) and request.content_type != "application/x-www-form-urlencoded":
        session, user = await auth.require_api(request)
        if user.role not in WATCHER_ROLES:
            raise web.HTTPForbidden(text='{"error":"forbidden","message":"Solo para '
                                    'supervisión."}', content_type="application/json")
        if not csrf.same_token(session.csrf, request.headers.get("X-CSRF-Token")):
            raise web.HTTPForbidden(text='{"error":"csrf"}', content_type="application/json")
        return session, user, {}, {}
    session, user = await supervisor(request)
    form = await request.post()
    submitted = form.get("csrf_token")
    if not csrf.same_token(session.csrf, submitted if isinstance(submitted, str) else None):
        raise page_error(request, 403, "El formulario caducó. Recargue la página e intente de "
                                        "nuevo.", user, session)
    single = {k: v for k, v in form.items() if isinstance(v, str)}
    multi = {k: [v for v in form.getall(k) if isinstance(v, str)] for k in set(form.keys())}
    return session, user, single, multi


def database_errors(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
    """PostgreSQL or Redis not answering: a page saying so, not a traceback."""
    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except DB_TROUBLE as exc:
            log.warning("campaign page %s failed: %s", request.path, exc)
            message = ("No se pudo consultar la base de datos de campañas. Intente de nuevo en "
                       "unos segundos; si sigue fallando, avise a soporte.")
            if wants_json(request):
                return web.json_response({"error": "database", "message": message}, status=503)
            raise page_error(request, 503, message) from None
    return guarded


def render(request: web.Request, template: str, session: Session, user: User,
           status: int = 200, **context) -> web.Response:
    return auth.render(request, template, status, user=user, csrf_token=session.csrf, **context)
