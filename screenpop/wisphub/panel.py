"""WispHub's staff panel over httpx: one Django session, kept and reused.

Repeated logins meet 429s and Cloudflare challenges, so the client signs in once, reuses the
session cookie for every read, and signs in again only when the panel says the session is gone
(a redirect to /accounts/login/ or the login form itself) — once per request, never in a loop.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import httpx

from screenpop.wisphub.errors import (
    PanelLayoutError,
    PanelLoginError,
    WispHubAuthError,
    WispHubBadResponse,
    WispHubError,
)
from screenpop.wisphub.http import RetryPolicy, send, timeout_for
from screenpop.wisphub.panel_page import (
    find_csrf_token,
    listed_total,
    login_error_text,
    looks_like_login_form,
    next_page,
    parse_preinstallation_list,
)
from screenpop.wisphub.post import post_once
from screenpop.wisphub.records import PanelRow

log = logging.getLogger(__name__)

LOGIN_PATH = "accounts/login/"
LIST_PATH = "preinstalaciones/"
MAX_LIST_PAGES = 200


class PanelClient:
    def __init__(self, base_url: str, user: str, password: str, *, timeout: float,
                 transport: httpx.AsyncBaseTransport | None = None,
                 policy: RetryPolicy = RetryPolicy()) -> None:
        if not base_url.endswith("/"):
            raise ValueError(f"the WispHub panel URL must end in /, got {base_url!r}")
        parts = urlsplit(base_url)
        self.base_url = base_url
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._user = user
        self._password = password
        self._policy = policy
        self._client = httpx.AsyncClient(base_url=base_url, transport=transport,
                                         timeout=timeout_for(timeout), follow_redirects=False,
                                         headers={"Accept": "text/html,application/xhtml+xml"})
        self._lock = asyncio.Lock()
        self._session = 0  # generation of the current session; 0 = none
        self.logins = 0

    @property
    def has_session(self) -> bool:
        return self._session > 0

    async def aclose(self) -> None:
        await self._client.aclose()

    async def pending_rows(self) -> list[PanelRow]:
        """Every pending row, following the list's server-side pages when it has them; a list
        that announces more rows than its pages hold is refused, never indexed partially."""
        rows: dict[str, PanelRow] = {}
        path, seen, total = LIST_PATH, set(), None
        for _ in range(MAX_LIST_PAGES):
            html = await self.get_page(path)
            seen.add(path)
            for row in parse_preinstallation_list(html):
                rows.setdefault(row.id, row)
            total = listed_total(html) if total is None else total
            link = next_page(html)
            if link is None:
                break
            target = urljoin(self.base_url + path, link)
            if not target.startswith(self.base_url + LIST_PATH):
                raise PanelLayoutError(f"la lista de preinstalaciones enlaza su página siguiente fuera "
                                       f"de la lista / next page outside the list: {link!r}")
            path = target.removeprefix(self.base_url)
            if path in seen:
                break
        else:
            raise PanelLayoutError(f"la lista de preinstalaciones tiene más de {MAX_LIST_PAGES} "
                                   "páginas; no se indexa una lista incompleta / too many pages")
        if total is not None and total > len(rows):
            raise PanelLayoutError(
                f"la lista de preinstalaciones de WispHub anuncia {total} registros y sus páginas "
                f"muestran {len(rows)}; no se indexa una lista incompleta / the list announces "
                f"{total} rows, {len(rows)} found")
        return list(rows.values())

    async def get_page(self, path: str) -> str:
        generation = await self._ensure_session(0)
        response = await self._get(path)
        if self._session_gone(response):
            log.info("wisphub panel session expired; signing in again path=/%s", path)
            await self._ensure_session(generation)
            response = await self._get(path)
            if self._session_gone(response):
                raise PanelLoginError(
                    "el panel de WispHub vuelve a pedir inicio de sesión justo después de iniciarla "
                    f"(/{path}); revise que el usuario tenga acceso / the panel asks to sign in "
                    "again right after signing in")
        if response.status_code == 403:
            raise WispHubAuthError(f"el panel de WispHub negó el acceso a /{path} (403): el usuario "
                                   "no tiene permiso / the panel user may not open this page")
        if response.status_code == 404:
            raise PanelLayoutError(f"el panel de WispHub ya no tiene /{path} (404) / page not found")
        if response.status_code != 200:
            raise WispHubBadResponse(f"el panel de WispHub respondió {response.status_code} en "
                                     f"/{path} / unexpected status")
        return response.text

    async def _get(self, path: str) -> httpx.Response:
        return await send(self._client, "GET", path.lstrip("/"), policy=self._policy,
                          what=f"panel GET /{path.lstrip('/')}")

    @staticmethod
    def _session_gone(response: httpx.Response) -> bool:
        if response.is_redirect:
            return "/accounts/login" in response.headers.get("location", "")
        return (response.status_code == 200 and "/accounts/login" in response.text
                and looks_like_login_form(response.text))

    async def _ensure_session(self, stale_generation: int) -> int:
        """Sign in unless a session newer than `stale_generation` exists; returns its generation."""
        async with self._lock:
            if self._session > stale_generation:
                return self._session
            self._session = 0
            await self._login()
            self._session = stale_generation + 1
            return self._session

    async def _login(self) -> None:
        self._client.cookies.delete("sessionid")
        form = await send(self._client, "GET", LOGIN_PATH, policy=self._policy,
                          what="panel GET /accounts/login/")
        if form.status_code != 200:
            raise PanelLayoutError(f"la página de inicio de sesión del panel respondió "
                                   f"{form.status_code} / login page answered {form.status_code}")
        token = find_csrf_token(form.text) or self._client.cookies.get("csrftoken")
        if not token:
            raise PanelLayoutError("el formulario de inicio de sesión del panel no trae "
                                   "csrfmiddlewaretoken / login form without a CSRF token")
        self.logins += 1
        response = await send(
            self._client, "POST", LOGIN_PATH, policy=RetryPolicy(1), what="panel POST /accounts/login/",
            data={"csrfmiddlewaretoken": token, "login": self._user, "password": self._password,
                  "remember": "on", "next": "/" + LIST_PATH, "token_device": "", "name_device": "",
                  "type_device": "web"},
            headers={"Referer": self.base_url + LOGIN_PATH, "Origin": self._origin,
                     "X-CSRFToken": token})
        if response.status_code in (301, 302, 303) and self._client.cookies.get("sessionid"):
            log.info("wisphub panel signed in user=%s", self._user)
            return
        if response.status_code == 200 and looks_like_login_form(response.text):
            detail = login_error_text(response.text) or "sin mensaje"
            raise PanelLoginError(
                f"WispHub rechazó el usuario o la contraseña del panel ({detail}); revise "
                "WISPHUB_PANEL_USER / WISPHUB_PANEL_PASSWORD / the panel refused the credentials")
        if response.status_code == 403:
            raise PanelLoginError("el panel rechazó el inicio de sesión por CSRF (403); revise que "
                                  "WISPHUB_PANEL_URL sea el dominio exacto del panel / CSRF failure")
        raise PanelLoginError(f"inicio de sesión en el panel sin éxito (HTTP {response.status_code}, "
                              "sin cookie sessionid) / sign-in failed")

    # --- writes (activation form, document upload, installation edit) ------------------------

    async def submit_form(self, path: str, fill: Callable[[str], dict[str, str]], *,
                          files: dict[str, tuple[str, bytes, str]] | None = None,
                          ) -> tuple[httpx.Response, dict[str, str]]:
        """GET the form at `path`, build the fields with `fill(html)` (which raises to send
        nothing), POST them once with a fresh CSRF token. When the panel refused without acting
        (session gone → login redirect, stale CSRF → 403) it signs in / re-reads and posts once
        more. Returns the answer and the fields sent (without the token)."""
        path = path.lstrip("/")
        retried = False
        while True:
            html = await self.get_page(path)
            fields = fill(html)
            token = find_csrf_token(html) or self._client.cookies.get("csrftoken") or ""
            generation = self._session
            try:
                response = await post_once(
                    self._client, "POST", path, what=f"panel POST /{path}",
                    data={**fields, "csrfmiddlewaretoken": token}, files=files or None,
                    headers={"Referer": self.base_url + path, "Origin": self._origin,
                             "X-CSRFToken": token})
            except WispHubError as exc:
                exc.sent = fields  # for the audit: what may have reached WispHub
                raise
            gone = self._session_gone(response)
            if not gone and not (response.status_code == 403 and "csrf" in response.text.lower()):
                return response, fields
            if retried:
                raise PanelLoginError(f"el panel de WispHub rechazó el envío de /{path} dos veces "
                                      f"(HTTP {response.status_code}) / the panel refused the POST")
            retried = True
            log.info("wisphub panel refused a POST without acting (status=%d); again path=/%s",
                     response.status_code, path)
            if gone:
                await self._ensure_session(generation)
