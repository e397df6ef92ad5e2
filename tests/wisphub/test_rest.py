"""The REST client against the sandbox over real HTTP: paging, retries, HTML and DRF errors."""
from __future__ import annotations

import pytest

from screenpop.wisphub.errors import (
    WispHubApiError,
    WispHubAuthError,
    WispHubBadResponse,
    WispHubChallenge,
    WispHubRateLimited,
    WispHubUnavailable,
)
from screenpop.wisphub.http import RetryPolicy
from screenpop.wisphub.rest import RestClient
from tests.wisphub.conftest import FAST


@pytest.fixture
async def rest(sandbox):
    client = RestClient(sandbox.url, sandbox.api_key, timeout=0.3, policy=FAST)
    yield client
    await client.aclose()


async def test_pages_by_offset_through_more_than_one_page(rest, sandbox):
    sandbox.store.add_clients(10)
    expected = [c["id_servicio"] for c in sandbox.store.clients]
    assert len(expected) == 33
    rows = await rest.get_all("clientes", page_size=7)
    assert [r["id_servicio"] for r in rows] == expected
    assert sandbox.stats.requests == {"GET /api/clientes/": 5}  # ceil(33/7), all with the slash


async def test_filters_and_drf_not_found(rest):
    rows = await rest.get_all("/clientes/", {"id_servicio": 205})
    assert [r["nombre"] for r in rows] == ["Fabiola Gil"]
    with pytest.raises(WispHubApiError, match="No encontrado") as caught:
        await rest.get_json("clientes/999999/")
    assert caught.value.status == 404


async def test_stalled_call_times_out_and_the_retry_succeeds(rest, sandbox):
    sandbox.faults.add("stall", scope="api", count=1)
    body = await rest.get_json("zonas/")
    assert body["count"] == 4
    assert sandbox.stats.requests["GET /api/zonas/"] == 2


async def test_call_that_always_stalls_fails_with_a_clear_error(rest, sandbox):
    sandbox.faults.add("stall", scope="api")
    with pytest.raises(WispHubUnavailable, match="no responde.*sin respuesta a tiempo.*3 intentos"):
        await rest.get_json("zonas/")


async def test_html_521_is_retried_then_reported(rest, sandbox):
    sandbox.faults.add("html_521", scope="api", count=2)
    assert (await rest.get_json("zonas/"))["count"] == 4
    sandbox.faults.add("html_521", scope="api")
    with pytest.raises(WispHubUnavailable, match="HTTP 521 \\(HTML\\)"):
        await rest.get_json("zonas/")


async def test_html_403_from_a_key_of_another_host(sandbox):
    client = RestClient(sandbox.url, "otherhost.0123456789abcdef0123456789abcdef", timeout=0.3,
                        policy=FAST)
    try:
        with pytest.raises(WispHubAuthError, match="no es de este servidor"):
            await client.get_json("zonas/")
    finally:
        await client.aclose()
    assert sandbox.stats.requests["GET /api/zonas/"] == 1  # an auth error is not retried


async def test_cloudflare_challenge_and_rate_limit_and_html_200(rest, sandbox):
    sandbox.faults.add("cloudflare", scope="api", count=1)
    with pytest.raises(WispHubChallenge, match="Cloudflare"):
        await rest.get_json("zonas/")
    sandbox.faults.add("429", scope="api")
    with pytest.raises(WispHubRateLimited, match="429"):
        await rest.get_json("zonas/")
    sandbox.faults.clear()
    sandbox.faults.add("html_200", scope="api", count=1)
    with pytest.raises(WispHubBadResponse, match="HTML .* en lugar de JSON"):
        await rest.get_json("zonas/")


async def test_server_error_pages_are_retried(rest, sandbox):
    sandbox.faults.add("500", scope="api", count=1)
    assert (await rest.get_json("zonas/"))["count"] == 4


async def test_solicitar_instalacion_validation_error_is_surfaced(rest):
    with pytest.raises(WispHubApiError, match="phone_number: Este campo es requerido") as caught:
        await rest.solicitar_instalacion({"firstname": "Ana", "lastname": "Ruiz",
                                          "address": "Calle 1"})
    assert caught.value.status == 400 and "phone_number" in caught.value.body


async def test_a_base_url_without_api_is_refused_up_front(sandbox):
    with pytest.raises(ValueError, match="/api/"):
        RestClient(sandbox.panel_url, sandbox.api_key, timeout=0.3, policy=RetryPolicy())
