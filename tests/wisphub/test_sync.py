"""Sandbox → gateway → Redis index: every phone format matches, failed syncs keep the index."""
from __future__ import annotations

import asyncio

import pytest

from common.phones import to_e164
from screenpop.sandbox.seed import DEMO_NUMBERS, DEMO_UNKNOWN_NUMBER
from screenpop.sandbox.store import SandboxStore
from screenpop.sync import INSTALLED_GRACE, IndexSync, client_record, rest_installations
from screenpop.wisphub.activation import ActivationData
from screenpop.wisphub.gateway import create_gateway
from screenpop.wisphub.rest import RestClient
from screenpop.wisphub.writes import WispHubWriter
from tests.wisphub.conftest import FAST

SEED_1001 = SandboxStore.load().preinstallations[1001]

# (raw number as WispHub stores it or as a caller shows up, the preinstallation it must find)
FORMATS = [
    ("5512345678", "1001"),           # 10 digits
    ("+52 55 8765 4321", "1002"),     # international with spaces (shared: 1002, 1003, 1020)
    ("81 1234 5678", "1004"),         # first of a comma list
    ("8119876543", "1004"),           # second of a comma list
    ("044 55 2233 4455", "1007"),     # legacy 044
    ("+52 1 55 6677 8899", "1008"),   # legacy mobile 1 with +52
    ("5566778800", "1008"),           # additional number
    ("55 3344 5567", "1009"),         # second of a "/" list
    ("01 55 1357 2468", "1014"),      # legacy 01
    ("+52 (33) 3616-2020", "1016"),   # punctuation
    ("5512123434", "1017"),           # stored with "ext 3"
    ("5215522446688", "1013"),        # legacy 521
]


async def test_full_sync_then_every_phone_format_matches(sync, index):
    report = await sync.full_sync()
    assert report.ok and report.count == 30
    for raw, expected in FORMATS:
        match = await index.match(to_e164(raw))
        assert expected in [r.id for r in match.preinstallations], raw
    status = await index.status()
    assert status["count"] == 30 and status["last_error"] is None and status["source"]


async def test_demo_numbers_give_one_many_and_none(sync, index):
    await sync.full_sync()
    statuses = [(await index.match(n)).status for n in DEMO_NUMBERS]
    assert statuses == ["one", "one", "one", "many", "many"]
    shared = await index.match("+525587654321")
    assert sorted(r.id for r in shared.preinstallations) == ["1002", "1003", "1020"]
    assert (await index.match(DEMO_UNKNOWN_NUMBER)).status == "none"
    await index.link_number("+525587654321", "1020")
    assert [r.id for r in (await index.match("+525587654321")).preinstallations] == ["1020"]


@pytest.mark.parametrize("fault", ["html_521", "stall", "layout", "cloudflare", "500"],
                         ids=["html-521", "stall", "layout-changed", "cloudflare", "server-error"])
async def test_failed_sync_keeps_the_previous_index(sync, index, sandbox, fault):
    assert (await sync.full_sync()).ok
    sandbox.store.preinstallations.pop(1001)
    sandbox.faults.add(fault, scope="panel", path="/preinstalaciones/")
    report = await sync.full_sync()
    assert not report.ok
    assert (await index.match("+525512345678")).status == "one"  # still the old index
    status = await index.status()
    assert status["count"] == 30 and status["last_error"] == report.errors[0]

    sandbox.faults.clear()
    assert (await sync.full_sync()).ok
    assert (await index.match("+525512345678")).status == "none"
    assert (await index.status())["last_error"] is None


async def test_solicitar_instalacion_appears_in_the_list_and_after_sync_in_the_index(
        sandbox, gateway, sync, index):
    await sync.full_sync()
    assert (await index.match("+525599887766")).status == "none"
    rest = RestClient(sandbox.url, sandbox.api_key, timeout=0.5, policy=FAST)
    try:
        await rest.solicitar_instalacion(
            {"firstname": "Estela", "lastname": "Núñez Ávila", "address": "Calle Pino 3",
             "phone_number": "55 9988 7766", "email": "estela@example.mx", "location": "Roma Norte",
             "city": "Ciudad de México", "aditional_phone_number": "", "commentaries": "Casa propia"},
            {"front_dni_proof": ("ine.jpg", b"\xff\xd8fake", "image/jpeg")})
    finally:
        await rest.aclose()
    pending = {r.name: r for r in await gateway.pending_preinstallations()}
    estela = pending["Estela Núñez Ávila"]
    assert "dni_front" not in estela.missing and "housing" not in estela.missing
    await sync.full_sync()
    match = await index.match(to_e164("5599887766"))
    assert [r.id for r in match.preinstallations] == [estela.id]
    assert [r.id for r in await index.search("estela nunez")] == [estela.id]


async def test_refresh_one_adds_updates_and_removes(sync, index, sandbox):
    await sync.full_sync()
    sandbox.store.preinstallations[1005]["phone_number"] = "3399990000"
    refreshed = await sync.refresh_one("1005")
    assert refreshed is not None and refreshed.phones == ("+523399990000",)
    assert (await index.match("+523312345678")).status == "none"
    assert [r.id for r in (await index.match("+523399990000")).preinstallations] == ["1005"]

    sandbox.store.preinstallations.pop(1005)
    assert await sync.refresh_one("1005") is None
    assert await index.get("1005") is None


async def test_run_syncs_at_start_and_stops_on_request(sync, index, sandbox):
    stop = asyncio.Event()
    task = asyncio.create_task(sync.run(stop))
    try:
        async with asyncio.timeout(10):
            while (await index.status())["count"] == 0:
                await asyncio.sleep(0.02)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
    assert sandbox.stats.logins == 1


async def test_run_retries_soon_after_a_failure(sync, index, sandbox):
    sandbox.faults.add("html_521", scope="panel", path="/preinstalaciones/", count=3)
    stop = asyncio.Event()
    task = asyncio.create_task(sync.run(stop))
    try:
        async with asyncio.timeout(10):
            while (await index.status())["count"] == 0:
                await asyncio.sleep(0.02)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
    assert (await index.status())["last_error"] is None


async def test_nodes_sharing_an_index_take_turns(sync, index, config, sandbox):
    assert (await sync.scheduled_sync()).ok
    other_gateway = create_gateway(config, policy=FAST)
    other = IndexSync(other_gateway, index, interval=60.0, retry_base=0.01)
    stop = asyncio.Event()
    task = asyncio.create_task(other.run(stop))
    try:
        async with asyncio.timeout(10):
            while other.last_report is None:
                await asyncio.sleep(0.02)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
        await other_gateway.aclose()
    assert other.last_report.skipped
    assert sandbox.stats.logins == 1 and sandbox.stats.requests["GET /preinstalaciones/"] == 1


async def test_a_failed_scheduled_sync_gives_the_turn_back(sync, index, sandbox):
    sandbox.faults.add("html_521", scope="panel", path="/preinstalaciones/", count=3)
    assert not (await sync.scheduled_sync()).ok
    assert (await sync.scheduled_sync()).ok
    assert (await sync.scheduled_sync()).skipped


async def test_after_activation_the_customer_is_still_found_as_an_installation(
        sandbox, gateway, index, keys):
    now = [1_000_000.0]
    sync = IndexSync(gateway, index, interval=60.0, retry_base=0.01,
                     installations=rest_installations(gateway.rest), clock=lambda: now[0])
    await sync.full_sync()
    juan = (await index.match(to_e164("5512345678"))).preinstallations[0]
    assert juan.id == "1001"
    # seeded clients (REST clientes/) are in the index too, as installations
    alberto = await index.match(to_e164("5570000000"))
    assert [r.name for r in alberto.preinstallations] == ["Alberto Ruiz"]
    assert "200" in alberto.installed

    # the pop activates 1001 and marks it; WispHub's client list does not show it yet
    await index.mark_installed("1001", "Instalación 1001", at=now[0])
    sandbox.store.preinstallations.pop(1001)
    await sync.full_sync()
    lagging = await index.match(to_e164("5512345678"))
    assert [r.id for r in lagging.preinstallations] == ["1001"]
    assert lagging.installed["1001"].reference == "Instalación 1001"

    # a real activation through the panel: WispHub lists it among its installations (REST
    # instalaciones/) until the technician activates it, and then among its clients
    writer = WispHubWriter(gateway.rest, gateway.panel)
    sandbox.store.preinstallations[1001] = {**SEED_1001}
    await writer.activate(ActivationData(
        username="1001@isp-demo", service_id="1001", first_name="Juan", last_name="Pérez López",
        zone="ZONA NORTE - CORTE 15", plan="1", install_at="20/07/2025 10:00",
        router="RB NORTE", ap="Sectorial Norte 1"))
    assert 1001 not in sandbox.store.preinstallations
    assert 1001 not in {c["id_servicio"] for c in sandbox.store.clients}
    now[0] += 2 * INSTALLED_GRACE   # long after the pop's mark: WispHub's list keeps it
    await sync.full_sync()
    later = await index.match(to_e164("5512345678"))
    assert [(r.id, r.name) for r in later.preinstallations] == [("1001", "Juan Pérez López")]
    assert later.installed["1001"].reference == "Instalación 1001"

    sandbox.store.activate_installation(1001)  # the technician's "Activar instalación"
    now[0] += 2 * INSTALLED_GRACE
    await sync.full_sync()
    client = await index.match(to_e164("5512345678"))
    assert [r.id for r in client.preinstallations] == ["1001"] and "1001" in client.installed


async def test_a_mark_with_no_installation_behind_it_expires(sandbox, gateway, index):
    now = [1_000_000.0]
    sync = IndexSync(gateway, index, interval=60.0, retry_base=0.01,
                     installations=rest_installations(gateway.rest), clock=lambda: now[0])
    await sync.full_sync()
    await index.mark_installed("1001", "Instalación 1001", at=now[0])
    sandbox.store.preinstallations.pop(1001)
    now[0] += INSTALLED_GRACE + 1
    await sync.full_sync()
    assert (await index.match(to_e164("5512345678"))).status == "none"


async def test_a_record_wisphub_still_lists_as_pending_is_pending(sandbox, gateway, index):
    sync = IndexSync(gateway, index, interval=60.0, retry_base=0.01,
                     installations=rest_installations(gateway.rest))
    await sync.full_sync()
    await index.mark_installed("1001", "Instalación 1001")
    await sync.full_sync()
    assert (await index.match(to_e164("5512345678"))).installed == {}


def test_a_rest_client_row_becomes_an_indexed_record():
    record = client_record({"id_servicio": 77, "usuario": "77@isp", "nombre": " Ana  Ruiz ",
                            "telefono": "55 1234 5678, 5587654321", "email": "",
                            "direccion": "Calle 5", "zona": "ZONA SUR"})
    assert (record.id, record.name, record.phones, record.zone, record.missing) == (
        "77", "Ana Ruiz", ("+525512345678", "+525587654321"), "ZONA SUR", ("email",))
    assert client_record({"id_servicio": 78, "zona": {"id": 2, "nombre": "NORTE"}}).zone == "NORTE"
    assert client_record({"nombre": "sin id"}) is None
