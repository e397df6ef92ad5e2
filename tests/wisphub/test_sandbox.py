"""The sandbox itself, over HTTP: WispHub's quirks, the control routes, the command line."""
from __future__ import annotations

import asyncio
import socket
import sys

import httpx
import pytest

from common.phones import all_e164
from screenpop.sandbox.seed import DEMO_NUMBERS, DEMO_UNKNOWN_NUMBER
from screenpop.sandbox.state import LOGINS_PER_MINUTE


@pytest.fixture
async def http(sandbox):
    async with httpx.AsyncClient(base_url=sandbox.panel_url, timeout=5) as client:
        yield client


def auth(sandbox) -> dict[str, str]:
    return {"Authorization": f"Api-Key {sandbox.api_key}"}


async def test_rest_quirks(http, sandbox):
    missing = await http.get("api/zonas/")
    assert missing.status_code == 403 and missing.json() == {
        "detail": "Las credenciales de autenticación no se proveyeron."}
    moved = await http.post("api/solicitar-instalacion", headers=auth(sandbox),
                            data={"firstname": "Ana"})
    assert moved.status_code == 301 and moved.headers["location"] == "/api/solicitar-instalacion/"
    page = (await http.get("api/clientes/", params={"limit": 5, "offset": 5},
                           headers=auth(sandbox))).json()
    assert page["next"].startswith("http://") and "offset=10" in page["next"]
    assert page["previous"].endswith("offset=0") and len(page["results"]) == 5
    ignored = (await http.get("api/clientes/", params={"zona": 999}, headers=auth(sandbox))).json()
    assert ignored["count"] == 23  # unknown filters are ignored, not rejected
    text_estado = (await http.get("api/clientes/", params={"estado": "Activo"},
                                  headers=auth(sandbox))).json()
    assert text_estado["count"] == 0


async def test_panel_login_with_csrf_and_redirects(http, sandbox):
    gone = await http.get("preinstalaciones/")
    assert gone.status_code == 302
    assert gone.headers["location"] == "/accounts/login/?next=/preinstalaciones/"
    forged = await http.post("accounts/login/", data={"login": sandbox.panel_user,
                                                      "password": sandbox.panel_password})
    assert forged.status_code == 403 and "CSRF verification failed" in forged.text

    first = await http.get("accounts/login/")
    second = await http.get("accounts/login/")
    assert "name='csrfmiddlewaretoken'" in first.text and 'name="csrfmiddlewaretoken"' in second.text
    token = http.cookies["csrftoken"]
    ok = await http.post("accounts/login/", headers={"Referer": sandbox.panel_url + "accounts/login/"},
                         data={"csrfmiddlewaretoken": token, "login": sandbox.panel_user,
                               "password": sandbox.panel_password, "next": "/preinstalaciones/"})
    assert ok.status_code == 302 and ok.headers["location"] == "/preinstalaciones/"
    assert http.cookies["csrftoken"] != token  # rotated at login
    listing = await http.get("preinstalaciones/")
    assert listing.status_code == 200 and listing.text.count("/preinstalacion/activar/") == 30
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listing.text and "<script>alert" not in listing.text


async def test_repeated_logins_meet_429(http, sandbox):
    statuses = []
    for _ in range(LOGINS_PER_MINUTE + 1):
        await http.get("accounts/login/")
        http.cookies.delete("sessionid")
        response = await http.post(
            "accounts/login/", headers={"Origin": sandbox.panel_url.rstrip("/")},
            data={"csrfmiddlewaretoken": http.cookies["csrftoken"], "login": sandbox.panel_user,
                  "password": sandbox.panel_password})
        statuses.append(response.status_code)
    assert statuses == [302] * LOGINS_PER_MINUTE + [429]


async def test_control_routes(http, sandbox):
    bad = await http.post("__sandbox__/faults", json={"kind": "meteorito"})
    assert bad.status_code == 400
    assert (await http.post("__sandbox__/faults", json={"kind": "500", "count": 1,
                                                        "scope": "api"})).status_code == 200
    assert (await http.get("api/zonas/", headers=auth(sandbox))).status_code == 500
    assert (await http.get("api/zonas/", headers=auth(sandbox))).status_code == 200
    await http.post("__sandbox__/faults", json={"expire_sessions": True, "clear": True})
    stats = (await http.get("__sandbox__/stats")).json()
    assert stats["requests"]["GET /api/zonas/"] == 2 and stats["logins"] == 0


def test_demo_numbers_are_in_the_seed(sandbox):
    seeded = set()
    for record in sandbox.store.preinstallations.values():
        seeded.update(all_e164(f'{record["phone_number"]}, {record["aditional_phone_number"]}'))
    assert set(DEMO_NUMBERS) <= seeded and DEMO_UNKNOWN_NUMBER not in seeded


async def test_command_line_serves_until_terminated():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "screenpop.sandbox", "--port", str(port),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        banner = await asyncio.wait_for(proc.stdout.readline(), 15)
        assert f"http://127.0.0.1:{port}/api/" in banner.decode()
        async with httpx.AsyncClient(timeout=5) as client:
            answer = await client.get(f"http://127.0.0.1:{port}/accounts/login/")
        assert answer.status_code == 200
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 10) == 0


async def test_a_stalled_write_still_acts_after_the_client_gave_up(sandbox):
    """WispHub keeps working on a request whose client timed out: so does the sandbox."""
    sandbox.faults.add("stall", scope="api", count=1, seconds=0.5, method="POST",
                       path="/api/solicitar-instalacion/")
    before = len(sandbox.store.preinstallations)
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=0.2) as client:
        with pytest.raises(httpx.TimeoutException):
            await client.post("solicitar-instalacion/", headers=auth(sandbox), data={
                "firstname": "Ana", "lastname": "Ruiz", "address": "Calle 1",
                "phone_number": "5511112222"})
    assert len(sandbox.store.preinstallations) == before  # not yet…
    for _ in range(100):
        if len(sandbox.store.preinstallations) == before + 1:
            break
        await asyncio.sleep(0.02)
    assert len(sandbox.store.preinstallations) == before + 1  # …but it happened
