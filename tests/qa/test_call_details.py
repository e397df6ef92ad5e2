"""The QA call page shows the record's IVR path, times, look-up and hold time (Spanish), over
HTTP and in Chromium at 380 px and 1440 px."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from screenpop.qa.generated_calls import insert_call
from screenpop.qa.routes import lookup_label
from tests.qa.conftest import all_pass
from tests.qa.test_browser import open_as
from tests.qa.test_routes import post

from .conftest import NOW


async def call_with_ivr_and_hold(pool, call_id: str, ivr_path: str) -> None:
    async with pool.acquire() as conn:
        await insert_call(conn, call_id, started_at=NOW, agents=("ana",), number="5512345678",
                          preinstallation="1001", events=[(timedelta(0), "started", {}),
                                                          (timedelta(seconds=40), "hold", {}),
                                                          (timedelta(seconds=47), "unhold", {})])
        await conn.execute("""
            UPDATE call_records SET hold_seconds = 7.2, hold_count = 2, ivr_path = $2::jsonb,
                ivr_started_at = ring_at, queue_entered_at = ring_at + interval '12 seconds',
                ivr_seconds = 12, queue_wait_seconds = 33, lookup_match = 'one',
                lookup_preinstallation_id = '1001'
            WHERE call_id = $1""", call_id, ivr_path)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_the_call_page_lists_ivr_choices_times_lookup_and_hold(desk, pool, signed_in):
    await call_with_ivr_and_hold(pool, "ivr-1", '["0", "1"]')
    async with pool.acquire() as conn:
        await insert_call(conn, "plain-1", started_at=NOW, agents=("ana",))
    rita = await signed_in("rita")
    response = await rita.http.get(f"{desk.url}/qa/calls/ivr-1")
    assert response.status == 200
    page = text_of(await response.text())
    assert "Menú (IVR) Hablar con un asesor → Contratar / seguimiento de instalación" in page
    assert "Tiempo en el menú 0:12" in page and "Espera en cola 0:33" in page
    assert "Búsqueda del número Una preinstalación · 1001" in page
    assert "En espera 0:07 (2 veces)" in page
    assert "Asesores Ana " in page  # the account's name (the desk fixture names ana "Ana")
    assert "Fin de espera" in page  # the timeline's unhold

    plain = text_of(await (await rita.http.get(f"{desk.url}/qa/calls/plain-1")).text())
    assert "Menú (IVR)" not in plain and "Espera en cola" not in plain
    assert "En espera No se puso en espera" in plain


async def test_the_timeline_reads_as_sentences_with_names_not_codes(desk, pool, signed_in):
    async with pool.acquire() as conn:
        await insert_call(conn, "tl-1", started_at=NOW, agents=("ana",), events=[
            (timedelta(0), "started", {"direction": "inbound"}, "telephony-1"),
            (timedelta(seconds=1), "agent_ringing", {}, "PJSIP/6001"),
            (timedelta(seconds=3), "agent_account", {"endpoint": "PJSIP/6001"}, "ana"),
            (timedelta(seconds=4), "agent_answered", {}, "PJSIP/6001"),
            (timedelta(seconds=20), "guided_step", {"step": "cobertura"}, "ana"),
            (timedelta(seconds=60), "wisphub_activation",
             {"label": "Activar la preinstalación", "state": "done"}, "ana"),
            (timedelta(seconds=61), "activated", {}, "ana"),
            (timedelta(seconds=90), "dialer_attempt", {"outcome": "connected"}),
            (timedelta(seconds=95), "ended", {"hangup_cause": 16}, "customer"),
            (timedelta(seconds=99), "disposition", {"label": "Venta"}, "ana"),
            (timedelta(seconds=100), "some_new_kind", {}, None),
            (timedelta(seconds=1), "agent_ringing", {}, "PJSIP/6099")])
        await conn.execute("INSERT INTO call_agents (call_id, position, endpoint, rang_at) "
                           "VALUES ('tl-1', 9, 'PJSIP/6099', $1)", NOW)  # nobody's phone
    rita = await signed_in("rita")
    page = await (await rita.http.get(f"{desk.url}/qa/calls/tl-1")).text()
    lines = [text_of(line).strip() for line in
             re.findall(r"<li><time>.*?</li>", page.split('class="qa-card qa-timeline"')[1])]
    assert "Asesores Ana También timbró Ext. 6099" in text_of(page)
    assert [line.split(" ", 2)[2] for line in lines] == [
        "Entró la llamada", "Timbró · Ana", "Timbró · Ext. 6099", "Contestó · Ana", "Paso del guion: Cobertura · Ana",
        "WispHub: Activar la preinstalación (hecho) · Ana", "Preinstalación activada · Ana",
        "Marcador: habló con un asesor", "Terminó (colgó el cliente)", "Resultado: Venta · Ana",
        "Otro evento"]


async def test_a_call_no_agent_took_says_why_and_cannot_be_scored(desk, pool, signed_in,
                                                                  scorecard):
    async with pool.acquire() as conn:
        await insert_call(conn, "lost-1", started_at=NOW, agents=(), disposition=None,
                          events=[(timedelta(0), "started", {"direction": "inbound"}),
                                  (timedelta(seconds=30), "ended", {"unreached": "queue"},
                                   "customer")])
        await conn.execute("UPDATE call_records SET unreached = 'queue' WHERE call_id = 'lost-1'")
        await insert_call(conn, "taken-1", started_at=NOW, agents=("ana",),
                          disposition="no_le_interesa")
    rita = await signed_in("rita")
    unreached = await (await rita.http.get(f"{desk.url}/qa?reached=no")).text()
    assert "/qa/calls/lost-1" in unreached and "/qa/calls/taken-1" not in unreached
    listed = text_of(unreached)
    assert "Sin asesor" in listed and "Colgó esperando en la cola" in listed
    reached = await (await rita.http.get(f"{desk.url}/qa?reached=si")).text()
    assert "/qa/calls/taken-1" in reached and "/qa/calls/lost-1" not in reached
    listed = text_of(reached.split('id="calls"')[1])  # the result by its name, not its id
    assert "No le interesa" in listed and "no_le_interesa" not in listed
    html = await (await rita.http.get(f"{desk.url}/qa/calls/lost-1")).text()
    page = text_of(html)
    assert "Asesores Ninguno" in page and "Sin asesor Colgó esperando en la cola" in page
    assert "Terminó: colgó esperando en la cola" in page
    # nobody to score: no form, and the desk refuses a score or a calibration sent anyway
    assert 'id="no-agent"' in html and "Guardar calificación" not in html
    assert "Calibrar esta llamada" not in html
    scored = await post(rita, "/qa/calls/lost-1/evaluation", all_pass(scorecard))
    assert scored.status == 409 and "no hay a quién calificar" in await scored.text()
    calibrated = await post(rita, "/qa/calibrations", {"call_id": "lost-1", "title": "x"})
    assert calibrated.status == 404


@pytest.mark.browser
async def test_the_call_details_in_chromium_narrow_and_wide(browser, desk, pool, shots):
    await call_with_ivr_and_hold(pool, "ivr-2", '["cerrado"]')
    for width in (380, 1440):
        page = await open_as(browser, desk, "rita", width)
        await page.goto(f"{desk.url}/qa/calls/ivr-2")
        assert await page.locator(".qa-ivr").inner_text() == "Llamó fuera de horario"
        assert await page.locator(".qa-hold").inner_text() == "0:07 (2 veces)"
        await page.screenshot(path=str(shots / f"qa-call-ivr-hold-{width}.png"), full_page=True)
        await page.context.close()


def test_after_hours_the_lookup_did_not_run_and_says_so():
    assert lookup_label({"ivr_path": '["cerrado", "c"]', "lookup_match": "unknown"}) == \
        "No se buscó (fuera de horario)"
    assert lookup_label({"ivr_path": '["1"]', "lookup_match": "unknown"}).startswith(
        "Sin resultado")
    assert lookup_label({"ivr_path": "[]", "lookup_match": "one"}) == "Una preinstalación"
