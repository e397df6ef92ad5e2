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

NOT_DELIVERED = frozenset({429, 502, 503, 521, 522, 523})   # refused before reaching the app
UNKNOWN = frozenset({500, 504, 520, 524})                    # may have run, answer lost


async def post_once(client: httpx.AsyncClient, method: str, url: str, *, what: str,
                    **kwargs) -> httpx.Response:
    try:
        response = await client.request(method, url, **kwargs)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise WriteNotSent(f"WispHub no responde ({what}): no se pudo conectar / "
                           f"could not connect ({exc!r})") from None
    except (httpx.TimeoutException, httpx.TransportError) as exc:
        log.warning("wisphub write without answer what=%s error=%r", what, exc)
        raise WriteOutcomeUnknown(f"WispHub no contestó a tiempo ({what}); puede que sí lo haya "
                                  f"hecho / no answer ({exc!r})") from None
    status = response.status_code
    if is_html(response) and status in (200, 403, 429, 503) and is_challenge(response.text):
        raise WriteNotSent(f"Cloudflare pidió verificación humana ({what}) / bot challenge")
    if status in NOT_DELIVERED:
        raise WriteNotSent(f"WispHub no está disponible ({what}: HTTP {status}) / unavailable")
    if status in UNKNOWN or status >= 500:
        raise WriteOutcomeUnknown(f"WispHub falló al procesar ({what}: HTTP {status}); puede que "
                                  "sí lo haya hecho / server error, outcome unknown")
    return response
