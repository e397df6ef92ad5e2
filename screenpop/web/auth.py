"""Sign-in, sign-out and the "who is this request" helpers."""
from __future__ import annotations

import json
import logging
import time
from typing import Any

from aiohttp import web

from screenpop import agents
from screenpop.users import User
from screenpop.web import csrf, sessions
from screenpop.web.sessions import Session, fingerprint
from screenpop.web.state import AGENT_STATES, CONFIG, KEYS, REDIS, SESSIONS, TEMPLATES, USERS

log = logging.getLogger(__name__)

MAX_FAILURES = 5
FAILURE_WINDOW_SECONDS = 15 * 60
_AUTH = web.RequestKey("auth", object)


async def current(request: web.Request) -> tuple[Session, User] | None:
    """The request's session and account, or None when not signed in."""
    if _AUTH not in request:
        found = None
        session = await request.app[SESSIONS].get(request.cookies.get(sessions.COOKIE))
        if session is not None:
            user = await request.app[USERS].get(session.username)
            found = (session, user) if user is not None else None
        request[_AUTH] = found
    return request[_AUTH]


async def require_page(request: web.Request) -> tuple[Session, User]:
    found = await current(request)
    if found is None:
        raise web.HTTPFound("/login")
    return found


async def require_api(request: web.Request) -> tuple[Session, User]:
    found = await current(request)
    if found is None:
        raise web.HTTPUnauthorized(text='{"error":"not_signed_in"}', content_type="application/json")
    return found


async def require_json_post(request: web.Request) -> tuple[Session, User, Any]:
    """The signed-in user of a state-changing API call, its CSRF header checked, and its JSON
    body (None when the body is not JSON)."""
    session, user = await require_api(request)
    if not csrf.same_token(session.csrf, request.headers.get("X-CSRF-Token")):
        raise web.HTTPForbidden(text='{"error":"csrf"}', content_type="application/json")
    try:
        body = await request.json()
    except ValueError:
        body = None
    return session, user, body


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    html = request.app[TEMPLATES].get_template(template).render(**context)
    return web.Response(text=html, status=status, content_type="text/html")


def _login_page(request: web.Request, status: int = 200, error: str | None = None,
                username: str = "") -> web.Response:
    config = request.app[CONFIG]
    nonce = csrf.new_token()
    response = render(request, "login.html", status, error=error, username=username,
                      csrf_token=csrf.login_form_token(config.secret_key, nonce))
    response.set_cookie(csrf.LOGIN_COOKIE, nonce, path="/login", httponly=True,
                        samesite="Strict", secure=config.cookie_secure)
    return response


async def login_form(request: web.Request) -> web.StreamResponse:
    if await current(request) is not None:
        raise web.HTTPFound("/")
    return _login_page(request)


async def login_submit(request: web.Request) -> web.StreamResponse:
    app = request.app
    config, redis, keys = app[CONFIG], app[REDIS], app[KEYS]
    form = await request.post()
    if not csrf.login_form_valid(config.secret_key, request.cookies.get(csrf.LOGIN_COOKIE),
                                 _field(form, "csrf_token")):
        return _login_page(request, 403, "El formulario caducó. Intente de nuevo.")
    username = _field(form, "username").strip().lower()[:64]
    password = _field(form, "password")[:1024]
    failures_key = keys.login_failures(username)
    if int(await redis.get(failures_key) or 0) >= MAX_FAILURES:
        log.warning("sign-in throttled agent=%s", username)
        return _login_page(request, 429, "Demasiados intentos fallidos. Espere 15 minutos o "
                                         "pida ayuda a su supervisor.", username)
    user = await app[USERS].verify(username, password) if username and password else None
    if user is None:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(failures_key)
            pipe.expire(failures_key, FAILURE_WINDOW_SECONDS)
            await pipe.execute()
        log.info("sign-in refused agent=%s", username)
        return _login_page(request, 401, "Usuario o contraseña incorrectos.", username)
    await redis.delete(failures_key)
    session = await app[SESSIONS].create(user.username)
    await app[AGENT_STATES].update(user.username, lambda s: agents.signed_in(s, time.time()))
    response = web.HTTPFound("/")
    sessions.set_cookie(response, session, ttl=config.session_ttl, secure=config.cookie_secure)
    response.del_cookie(csrf.LOGIN_COOKIE, path="/login")
    log.info("signed in agent=%s", user.username)
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    found = await current(request)
    response = web.HTTPFound("/login")
    if found is not None:
        session, user = found
        form = await request.post()
        submitted = _field(form, "csrf_token") or request.headers.get("X-CSRF-Token")
        if not csrf.same_token(session.csrf, submitted):
            raise web.HTTPForbidden(text="CSRF")
        await request.app[SESSIONS].delete(session.id)
        await request.app[AGENT_STATES].update(user.username,
                                               lambda s: agents.signed_out(s, time.time()))
        # Every node closes the sockets opened with this session (see bus.py).
        await request.app[REDIS].publish(request.app[KEYS].agent_channel(user.username),
                                         json.dumps({"type": "session_ended",
                                                     "session": fingerprint(session.id)}))
        log.info("signed out agent=%s", user.username)
    sessions.clear_cookie(response)
    raise response


def _field(form, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""
