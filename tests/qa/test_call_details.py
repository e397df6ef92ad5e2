"""The QA call page shows the record's IVR path, times, look-up and hold time (Spanish), over
HTTP and in Chromium at 380 px and 1440 px."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from screenpop.qa.generated_calls import insert_call
from tests.qa.test_browser import open_as

from .conftest import NOW


async def call_with_ivr_and_hold(pool, call_id: str, ivr_path: str) -> None:
    async with pool.acquire() as conn:
        await insert_call(conn, call_id, started_at=NOW, agents=("ana",), number="5512345678",
                          preinstallation="1001", events=[(timedelta(0), "ring", {}),
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
