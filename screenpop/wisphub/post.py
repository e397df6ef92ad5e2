"""Sending one write to WispHub exactly once, classifying what its failure means for a re-send.

Writes are never retried here: a retry after a timeout could repeat the effect. The caller (the
operations layer) decides, after looking at WispHub's state when the outcome is unknown.
"""
from __future__ import annotations

import logging

import httpx

from screenpop.wisphub.http import is_html
from screenpop.wisphub.panel_page import is_challenge
from screenpop.wisphub.write_errors import WriteNotSent, WriteOutcomeUnknown

log = logging.getLogger(__name__)

# Cloudflare could not reach the origin / rate limit before the app: nothing ran
NOT_DELIVERED = frozenset({429, 521, 522, 523})
# 502/503 come from a proxy that may have handed the request on before failing, 504/524 after
# the origin took too long while still working: it may have run, the answer is lost
UNKNOWN = frozenset({500, 502, 503, 504, 520, 524})


async def post_once(client: httpx.AsyncClient, method: str, url: str, *, what: str,
                    **kwargs) -> httpx.Response:
    try:
        response = await client.request(method, url, **kwargs)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise WriteNotSent(f"WispHub no responde: no se pudo conectar / {what}: "
                           f"could not connect ({exc!r})") from None
    except (httpx.TimeoutException, httpx.TransportError) as exc:
        log.warning("wisphub write without answer what=%s error=%r", what, exc)
        raise WriteOutcomeUnknown("WispHub no contestó a tiempo; puede que sí lo haya hecho / "
                                  f"{what}: no answer ({exc!r})") from None
    status = response.status_code
    if is_html(response) and status in (200, 403, 429, 503) and is_challenge(response.text):
        raise WriteNotSent(f"Cloudflare pidió verificación humana / {what}: bot challenge")
    if status in NOT_DELIVERED:
        raise WriteNotSent(f"WispHub no está disponible (HTTP {status}) / {what}: unavailable")
    if status in UNKNOWN or status >= 500:
        raise WriteOutcomeUnknown(f"WispHub falló al procesarlo (HTTP {status}); puede que sí lo "
                                  f"haya hecho / {what}: server error, outcome unknown")
    return response
