"""The WispHub sandbox: one aiohttp server with the REST API under /api/ and the staff panel.

Quirks imitated (wisphub-api.md §1/§5): `Api-Key` auth with DRF 403s, an nginx HTML 403 for a
key this host did not issue, 301 to the trailing-slash spelling (also on POST, dropping the
body), absolute `http://` paging links. Faults and counters are reachable from Python
(`sandbox.faults`, `sandbox.stats`) and over HTTP (`/__sandbox__/faults`, `/__sandbox__/stats`).
"""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

from screenpop.sandbox import pages, panel, rest, writes
from screenpop.sandbox.faults import Faults
from screenpop.sandbox.state import STATE, SandboxState
from screenpop.sandbox.store import SandboxStore, Stats

DEFAULT_API_KEY = "sandbox.0123456789abcdef0123456789abcdef"
DEFAULT_PANEL_USER = "demo@isp-demo"
DEFAULT_PANEL_PASSWORD = "demo"
CONTROL = "/__sandbox__/"


def _html(text: str, status: int) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def _fault_response(kind: str, request: web.Request) -> web.Response:
    if kind == "html_521":
        return _html(pages.cloudflare_521(request.host), 521)
    if kind == "403":
        return _html(pages.nginx_403(), 403)
    if kind == "500":
        return _html(pages.server_error(), 500)
    if kind == "429":
        return _html(pages.too_many_requests(), 429)
    if kind == "cloudflare":
        return _html(pages.cloudflare_challenge(), 403)
    return _html(pages.landing_html(), 200)  # html_200


@web.middleware
async def wisphub_edges(request: web.Request, handler) -> web.StreamResponse:
    state = request.app[STATE]
    if request.path.startswith(CONTROL):
        return await handler(request)
    area = "api" if request.path.startswith("/api/") else "panel"
    route = request.match_info.route.resource
    state.stats.count(f"{request.method} {route.canonical if route else request.path}")
    fault = state.faults.take(area, request.path, method=request.method,
                              kinds=("html_521", "stall", "403", "500", "429", "cloudflare", "html_200"))
    if fault is not None:
        if fault.kind != "stall":
            return _fault_response(fault.kind, request)
        if request.can_read_body:
            # WispHub has the whole request and is slow to act on it: it still acts after the
            # client gave up waiting (the body is kept, the dropped connection does not matter)
            await request.read()
        await state.faults.stall(fault)
    if not request.path.endswith("/") and not request.path.startswith(("/media/", "/static/")):
        target = request.path + "/" + (f"?{request.query_string}" if request.query_string else "")
        return web.Response(status=301, headers={"Location": target})
    if area == "api":
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Api-Key "):
            return web.json_response(
                {"detail": "Las credenciales de autenticación no se proveyeron."}, status=403)
        if auth.removeprefix("Api-Key ").strip() != state.api_key:
            return _html(pages.nginx_403(), 403)
    try:
        response = await handler(request)
    except web.HTTPNotFound:
        if area == "api":
            return _html(pages.nginx_404(), 404)
        raise
    late = (state.faults.take(area, request.path, method=request.method,
                              kinds=("stall_after", "502_after"))
            if request.method != "GET" else None)
    if late is not None and late.kind == "502_after":
        return _html(pages.bad_gateway(), 502)
    if late is not None:  # a write took effect; its answer is what gets lost
        await state.faults.stall(late)
    return response


async def control_faults(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        body = await request.json()
        if body.get("clear"):
            state.faults.clear()
        if body.get("release"):
            state.faults.release_stalls()
        if body.get("expire_sessions"):
            state.expire_sessions()
        if body.get("kind"):
            state.faults.add(body["kind"], scope=body.get("scope", "any"), count=body.get("count"),
                             seconds=body.get("seconds"), path=body.get("path"),
                             method=body.get("method"))
    except (ValueError, AttributeError, TypeError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response({"ok": True})


async def control_stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].stats.as_dict())


def create_app(state: SandboxState) -> web.Application:
    app = web.Application(middlewares=[wisphub_edges], client_max_size=32 * 1024 * 1024)
    app[STATE] = state
    rest.add_routes(app)
    panel.add_routes(app)
    writes.add_routes(app)
    app.router.add_post(CONTROL + "faults", control_faults)
    app.router.add_get(CONTROL + "stats", control_stats)
    return app


class WispHubSandbox:
    def __init__(self, seed_path: Path | str | None = None, *, api_key: str = DEFAULT_API_KEY,
                 panel_user: str = DEFAULT_PANEL_USER,
                 panel_password: str = DEFAULT_PANEL_PASSWORD) -> None:
        self.state = SandboxState(store=SandboxStore.load(seed_path), api_key=api_key,
                                  panel_user=panel_user, panel_password=panel_password)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self.host = "127.0.0.1"

    @property
    def api_key(self) -> str:
        return self.state.api_key

    @property
    def panel_user(self) -> str:
        return self.state.panel_user

    @property
    def panel_password(self) -> str:
        return self.state.panel_password

    @property
    def faults(self) -> Faults:
        return self.state.faults

    @property
    def stats(self) -> Stats:
        return self.state.stats

    @property
    def store(self) -> SandboxStore:
        return self.state.store

    @property
    def panel_url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def url(self) -> str:
        return self.panel_url + "api/"

    def expire_sessions(self) -> None:
        self.state.expire_sessions()

    async def start(self, port: int = 0, host: str = "127.0.0.1") -> web.AppRunner:
        self.host = host
        runner = web.AppRunner(create_app(self.state), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self.port = runner.addresses[0][1]
        self._runner = runner
        return runner

    async def stop(self) -> None:
        self.state.faults.clear()  # stalled requests finish so the server can close
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
