"""Sending one request to WispHub with timeouts and capped, jittered retries.

Retried: timeouts (WispHub stalls about one call in eight), connection failures, 429, 5xx and
Cloudflare's 52x pages. Not retried: Cloudflare's bot check, which retrying only prolongs.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import httpx

from common.backoff import backoff_delay
from screenpop.wisphub.errors import WispHubChallenge, WispHubRateLimited, WispHubUnavailable
from screenpop.wisphub.panel_page import is_challenge

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 520, 521, 522, 523, 524})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    base: float = 0.5
    cap: float = 5.0


def timeout_for(seconds: float) -> httpx.Timeout:
    return httpx.Timeout(seconds, connect=min(seconds, 5.0))


def is_html(response: httpx.Response) -> bool:
    return "html" in response.headers.get("content-type", "").lower()


def _challenge(response: httpx.Response) -> bool:
    return is_html(response) and response.status_code in (200, 403, 429, 503) and is_challenge(response.text)


async def send(client: httpx.AsyncClient, method: str, url: str, *, policy: RetryPolicy,
               what: str, **kwargs) -> httpx.Response:
    """The first answer that is not a transient failure; raises after `policy.attempts`."""
    problem = ""
    last_status = None
    for attempt in range(max(1, policy.attempts)):
        if attempt:
            await asyncio.sleep(backoff_delay(attempt - 1, base=policy.base, cap=policy.cap))
        try:
            response = await client.request(method, url, **kwargs)
        except httpx.TimeoutException:
            problem, last_status = "sin respuesta a tiempo / timed out", None
            log.warning("wisphub timeout what=%s attempt=%d", what, attempt + 1)
            continue
        except httpx.TransportError as exc:
            problem, last_status = f"conexión fallida / connection failed ({exc!r})", None
            log.warning("wisphub connection failed what=%s attempt=%d error=%r", what, attempt + 1, exc)
            continue
        if _challenge(response):
            raise WispHubChallenge(
                f"Cloudflare pidió verificación humana en {what} (\"Just a moment...\"); se "
                "reintentará más tarde / Cloudflare bot challenge answered instead of WispHub")
        if response.status_code in RETRY_STATUSES:
            last_status = response.status_code
            kind = "HTML" if is_html(response) else "JSON"
            problem = f"HTTP {response.status_code} ({kind})"
            log.warning("wisphub transient status=%d what=%s attempt=%d", response.status_code,
                        what, attempt + 1)
            continue
        return response
    tries = max(1, policy.attempts)
    if last_status == 429:
        raise WispHubRateLimited(
            f"WispHub limitó las peticiones (429) en {what} tras {tries} intentos / "
            f"WispHub rate-limited {what} after {tries} attempts")
    raise WispHubUnavailable(
        f"WispHub no responde en {what}: {problem} tras {tries} intentos / "
        f"WispHub unavailable for {what} after {tries} attempts")
