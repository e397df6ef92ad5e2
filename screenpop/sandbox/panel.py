"""The staff panel pages the project reads: Django login with CSRF, and `/preinstalaciones/`."""
from __future__ import annotations

import time
from urllib.parse import quote, urlsplit

from aiohttp import web

from screenpop.sandbox import pages
from screenpop.sandbox.state import STATE, SandboxState

BAD_LOGIN = "El usuario y/o la contraseña que se especificaron no son correctos."


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def current_user(request: web.Request) -> str | None:
    return request.app[STATE].sessions.get(request.cookies.get("sessionid", ""))


def to_login(request: web.Request) -> web.Response:
    raise web.HTTPFound(f"/accounts/login/?next={quote(request.path_qs)}")


def _same_origin(request: web.Request) -> bool:
    own = f"{request.scheme}://{request.host}"
    origin = request.headers.get("Origin")
    referer = request.headers.get("Referer")
    if origin is not None and origin != own:
        return False
    if referer is not None:
        parts = urlsplit(referer)
        return f"{parts.scheme}://{parts.netloc}" == own
    return origin is not None


def _login_form(request: web.Request, state: SandboxState, *, error: str | None = None,
                status: int = 200) -> web.Response:
    state.login_pages += 1
    token = request.cookies.get("csrftoken")
    if token not in state.csrf_tokens:
        token = state.new_csrf()
    next_path = request.query.get("next", "/panel/")
    response = _html(pages.login_page(token, next_path, single_quotes=state.login_pages % 2 == 1,
                                      error=error), status)
    response.set_cookie("csrftoken", token, path="/", samesite="Lax")
    return response


async def login_get(request: web.Request) -> web.Response:
    return _login_form(request, request.app[STATE])


async def login_post(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.stats.login_attempts += 1
    form = await request.post()
    cookie = request.cookies.get("csrftoken")
    if (not cookie or cookie not in state.csrf_tokens or form.get("csrfmiddlewaretoken") != cookie
            or not _same_origin(request)):
        return _html(pages.csrf_failure(), 403)
    if not state.login_allowed():
        return _html(pages.too_many_requests(), 429)
    if form.get("login") != state.panel_user or form.get("password") != state.panel_password:
        return _login_form(request, state, error=BAD_LOGIN)
    state.recent_logins.append(time.monotonic())
    state.stats.logins += 1
    state.csrf_tokens.discard(cookie)  # Django rotates the token at login
    next_path = str(form.get("next") or "/panel/")
    if not next_path.startswith("/") or next_path.startswith("//"):
        next_path = "/panel/"
    response = web.Response(status=302, headers={"Location": next_path})
    response.set_cookie("csrftoken", state.new_csrf(), path="/", samesite="Lax")
    response.set_cookie("sessionid", state.new_session(str(form["login"])), path="/",
                        httponly=True, samesite="Lax")
    return response


async def panel_home(request: web.Request) -> web.Response:
    user = current_user(request) or to_login(request)
    return _html(pages.panel_home(user))


async def preinstalaciones(request: web.Request) -> web.Response:
    state = request.app[STATE]
    user = current_user(request) or to_login(request)
    if state.faults.take("panel", request.path, method=request.method, kinds=("layout",)):
        return _html(pages.redesigned_page(user))
    page = request.query.get("page", "1")
    return _html(pages.preinstallations_page(
        state.store.pending(), user, hidden=state.list_hidden_columns,
        page=int(page) if page.isdigit() else 1, page_size=state.list_page_size,
        server_side=state.list_server_side))


async def landing(request: web.Request) -> web.Response:
    return _html(pages.landing_html())


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", landing)
    app.router.add_get("/accounts/login/", login_get)
    app.router.add_post("/accounts/login/", login_post)
    app.router.add_get("/panel/", panel_home)
    app.router.add_get("/preinstalaciones/", preinstalaciones)
