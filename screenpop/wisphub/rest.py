"""WispHub's REST API (DRF) over httpx: `Api-Key` auth, offset paging, defensive decoding."""
from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from screenpop.wisphub.errors import (
    WispHubApiError,
    WispHubAuthError,
    WispHubBadResponse,
    WispHubError,
)
from screenpop.wisphub.http import RetryPolicy, is_html, send, timeout_for
from screenpop.wisphub.post import post_once
from screenpop.wisphub.write_errors import WriteOutcomeUnknown

MAX_PAGES = 10_000


def route(path: str) -> str:
    """The spec spelling: relative to the /api/ base, with the trailing slash WispHub needs
    (the other spelling gets a 301, which on a POST drops the body)."""
    path = path.lstrip("/")
    return path if path.endswith("/") else path + "/"


def _drf_message(body: object) -> str:
    if isinstance(body, dict):
        if "detail" in body:
            return str(body["detail"])
        return "; ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}"
                         for k, v in body.items())
    return str(body)[:300]


class RestClient:
    def __init__(self, base_url: str, api_key: str, *, timeout: float,
                 transport: httpx.AsyncBaseTransport | None = None,
                 policy: RetryPolicy = RetryPolicy()) -> None:
        if not base_url.endswith("/api/"):
            raise ValueError(f"the WispHub REST base must end in /api/, got {base_url!r}")
        self.base_url = base_url
        self._policy = policy
        self._client = httpx.AsyncClient(
            base_url=base_url, transport=transport, timeout=timeout_for(timeout),
            follow_redirects=False,
            headers={"Authorization": f"Api-Key {api_key}", "Accept": "application/json"})

    async def aclose(self) -> None:
        await self._client.aclose()

    def _decode(self, response: httpx.Response, what: str) -> Any:
        status = response.status_code
        if 300 <= status < 400:
            raise WispHubBadResponse(
                f"WispHub redirigió {what} a {response.headers.get('location')!r}: revise WISPHUB_URL "
                f"(https, termina en /api/) / unexpected redirect ({status}) for {what}")
        if status in (401, 403):
            if is_html(response):
                raise WispHubAuthError(
                    f"WispHub respondió HTML {status} en {what}: la API key no es de este servidor "
                    "(wisphub.net / .io / .app) o WISPHUB_URL es incorrecto / HTML "
                    f"{status}: API key from another WispHub host or wrong WISPHUB_URL")
            raise WispHubAuthError(
                f"WispHub rechazó la API key en {what} ({status}: {_drf_message(self._json(response))}) / "
                "WispHub refused the API key")
        if is_html(response) or not response.content:
            raise WispHubBadResponse(
                f"WispHub respondió HTML (HTTP {status}) en lugar de JSON en {what}; revise WISPHUB_URL / "
                f"HTML instead of JSON from {what}")
        body = self._json(response)
        if status >= 400:
            raise WispHubApiError(f"WispHub rechazó {what} ({status}): {_drf_message(body)}",
                                  status, body)
        return body

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise WispHubBadResponse(
                f"WispHub respondió algo que no es JSON (HTTP {response.status_code}) en "
                f"{response.request.url.path} / response is not JSON") from None

    async def get_json(self, path: str, params: Mapping[str, Any] | None = None, *,
                       attempts: int | None = None) -> Any:
        path = route(path)
        policy = self._policy if attempts is None else RetryPolicy(attempts, self._policy.base,
                                                                   self._policy.cap)
        response = await send(self._client, "GET", path, params=dict(params or {}),
                              policy=policy, what=f"GET /api/{path}")
        return self._decode(response, f"GET /api/{path}")

    async def paginate(self, path: str, params: Mapping[str, Any] | None = None, *,
                       page_size: int = 200) -> AsyncIterator[dict[str, Any]]:
        """Every row of a LimitOffset collection, paging by our own offset (the `next` links
        WispHub sends may be `http://` and are not followed)."""
        offset = 0
        for _ in range(MAX_PAGES):
            body = await self.get_json(path, {**(params or {}), "limit": page_size, "offset": offset})
            if not isinstance(body, dict) or not isinstance(body.get("results"), list):
                raise WispHubBadResponse(
                    f"/api/{route(path)} no devolvió una página (count/results) / not a paginated answer")
            rows = body["results"]
            for row in rows:
                yield row
            offset += len(rows)
            count = body.get("count")
            if not rows or (isinstance(count, int) and offset >= count):
                return

    async def get_all(self, path: str, params: Mapping[str, Any] | None = None, *,
                      page_size: int = 200) -> list[dict[str, Any]]:
        return [row async for row in self.paginate(path, params, page_size=page_size)]

    async def solicitar_instalacion(self, fields: Mapping[str, str],
                                    files: Mapping[str, tuple[str, bytes, str]] | None = None) -> Any:
        """Create a preinstallation request (multipart, WispHub's field names). Sent once: a
        POST is not retried, so a stall cannot create the lead twice."""
        what = "POST /api/solicitar-instalacion/"
        response = await send(self._client, "POST", route("solicitar-instalacion"),
                              data=dict(fields), files=dict(files or {}) or None,
                              policy=RetryPolicy(1), what=what)
        if response.is_success and not response.content:
            return None
        return self._decode(response, what)

    # --- writes --------------------------------------------------------------------------------

    async def write_json(self, method: str, path: str, body: Mapping[str, Any]) -> Any:
        """One JSON write (POST/PUT/PATCH), sent once (see screenpop.wisphub.post): a 4xx with a
        DRF body raises WispHubApiError, a lost answer WriteOutcomeUnknown."""
        path = route(path)
        what = f"{method} /api/{path}"
        try:
            response = await post_once(self._client, method, path, json=dict(body), what=what)
            return self._write_answer(response, what)
        except WispHubError as exc:
            exc.sent = dict(body)
            raise

    def _write_answer(self, response: httpx.Response, what: str) -> Any:
        if response.is_success and not response.content:
            return None
        if response.is_success:
            try:
                if is_html(response):
                    raise ValueError("html")
                return response.json()
            except (ValueError, UnicodeDecodeError):
                # WispHub answers HTML 200 during outages: whether the write ran is not known
                raise WriteOutcomeUnknown(
                    f"WispHub respondió una página en lugar de confirmar (HTTP "
                    f"{response.status_code}); puede que sí lo haya hecho / {what}: HTML answer"
                ) from None
        return self._decode(response, what)

    async def task_status(self, task_id: str) -> tuple[str, Any]:
        """(status, result) of a background task: `{"task": {"status", "result"}}`, also
        accepting the flat `{"status", "result"}` shape."""
        body = await self.get_json(f"tasks/{task_id}/", attempts=1)
        task = body.get("task", body) if isinstance(body, dict) else None
        if not isinstance(task, dict) or not isinstance(task.get("status"), str):
            raise WispHubBadResponse(f"/api/tasks/{task_id}/ no trae status / no task status")
        return task["status"].upper(), task.get("result")
