"""Sign-in, sign-out and the "who is this request" helpers."""
from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

from aiohttp import web

from screenpop import agents
from screenpop.config import ScreenpopConfig
from screenpop.users import AccountsUnavailable, User
from screenpop.web import bodies, csrf, sessions
from screenpop.web.peers import client_address, parse_networks
from screenpop.web.sessions import Session
from screenpop.web.state import (
    AGENT_STATES,
    CONFIG,
    KEYS,
    REDIS,
    ROUTER,
    SESSIONS,
    TEMPLATES,
    USERS,
)
from screenpop.web.throttle import LoginThrottle, ThrottlePolicy

log = logging.getLogger(__name__)

_AUTH = web.RequestKey("auth", object)


async def current(request: web.Request) -> tuple[Session, User] | None:
    """The request's session and account, or None when not signed in."""
    if _AUTH not in request:
        found = None
        session = await request.app[SESSIONS].get(request.cookies.get(sessions.COOKIE))
        if session is not None:
            try:
                user = await request.app[USERS].get(session.username)
            except AccountsUnavailable as exc:
                log.error("accounts unavailable: %s", exc)
                raise web.HTTPServiceUnavailable(
                    text="No se pudieron leer las cuentas: la base de datos no responde. "
                         "Intente de nuevo en unos segundos; si sigue, avise a soporte.") from None
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
    body (a 400 with a Spanish message when the body is not usable JSON)."""
    session, user = await require_api(request)
    if not csrf.same_token(session.csrf, request.headers.get("X-CSRF-Token")):
        raise web.HTTPForbidden(text='{"error":"csrf"}', content_type="application/json")
    return session, user, await bodies.read_json(request)


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    html = request.app[TEMPLATES].get_template(template).render(**context)
    return web.Response(text=html, status=status, content_type="text/html")


def _login_page(request: web.Request, status: int = 200, error: str | None = None,
                username: str = "", retry_after: int | None = None) -> web.Response:
    config = request.app[CONFIG]
    nonce = csrf.new_token()
    response = render(request, "login.html", status, error=error, username=username,
                      csrf_token=csrf.login_form_token(config.secret_key, nonce))
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    response.set_cookie(csrf.LOGIN_COOKIE, nonce, path="/login", httponly=True,
                        samesite="Strict", secure=config.cookie_secure)
    return response


async def login_form(request: web.Request) -> web.StreamResponse:
    if await current(request) is not None:
        raise web.HTTPFound("/")
    return _login_page(request)


async def login_submit(request: web.Request) -> web.StreamResponse:
    app = request.app
    config = app[CONFIG]
    form = await request.post()
    if not csrf.login_form_valid(config.secret_key, request.cookies.get(csrf.LOGIN_COOKIE),
                                 _field(form, "csrf_token")):
        return _login_page(request, 403, "El formulario caducó. Intente de nuevo.")
    username = _field(form, "username").strip().lower()[:64]
    password = _field(form, "password")[:1024]
    if not username or not password:
        return _login_page(request, 401, "Escriba su usuario y su contraseña.", username)
    address = client_address(request, parse_networks(config.trusted_proxies))
    throttle = LoginThrottle(app[REDIS], app[KEYS], throttle_policy(config))
    verdict = await throttle.attempt(username, address)
    if not verdict.allowed:
        log.warning("sign-in throttled agent=%s address=%s wait=%ds", username, address,
                    verdict.wait_seconds)
        return _login_page(request, 429, f"Demasiados intentos; espere "
                           f"{_duration(verdict.wait_seconds)} e intente de nuevo.", username,
                           retry_after=verdict.wait_seconds)
    try:
        user = await app[USERS].verify(username, password)
    except AccountsUnavailable as exc:
        log.error("sign-in impossible, accounts unavailable agent=%s: %s", username, exc)
        return _login_page(request, 503, "No se puede iniciar sesión ahora: la base de datos de "
                           "cuentas no responde. Intente de nuevo en unos segundos; si sigue, "
                           "avise a soporte.", username)
    if user is None:
        log.info("sign-in refused agent=%s address=%s", username, address)
        message = "Usuario o contraseña incorrectos."
        if verdict.wait_seconds:
            message += (f" Demasiados intentos; espere {_duration(verdict.wait_seconds)} antes "
                        "de intentar de nuevo.")
        return _login_page(request, 401, message, username,
                           retry_after=verdict.wait_seconds or None)
    await throttle.succeeded(username, address)
    session = await app[SESSIONS].create(user.username)
    phone = user.endpoints[0] if user.endpoints else None
    await app[AGENT_STATES].update(user.username,
                                   lambda s: agents.signed_in(s, time.time(), phone))
    await app[ROUTER].follow_live_calls(user)
    response = web.HTTPFound("/")
    sessions.set_cookie(response, session, ttl=config.session_ttl, secure=config.cookie_secure)
    response.del_cookie(csrf.LOGIN_COOKIE, path="/login")
    log.info("signed in agent=%s address=%s", user.username, address)
    raise response


def throttle_policy(config: ScreenpopConfig) -> ThrottlePolicy:
    default = ThrottlePolicy()
    return replace(default, account=replace(default.account,
                                            free_attempts=config.login_free_attempts,
                                            first_delay=config.login_first_delay))


def _duration(seconds: int) -> str:
    if seconds >= 120:
        minutes = -(-seconds // 60)
        return f"{minutes} minutos"
    return "1 segundo" if seconds == 1 else f"{seconds} segundos"


async def logout(request: web.Request) -> web.StreamResponse:
    found = await current(request)
    response = web.HTTPFound("/login")
    if found is not None:
        session, user = found
        form = await request.post()
        submitted = _field(form, "csrf_token") or request.headers.get("X-CSRF-Token")
        if not csrf.same_token(session.csrf, submitted):
            raise web.HTTPForbidden(text="CSRF")
        await request.app[AGENT_STATES].update(user.username,
                                               lambda s: agents.signed_out(s, time.time()))
        # Every node closes the sockets opened with this session (see bus.py).
        await request.app[SESSIONS].delete(session)
        log.info("signed out agent=%s", user.username)
    sessions.clear_cookie(response)
    raise response


def _field(form, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""
