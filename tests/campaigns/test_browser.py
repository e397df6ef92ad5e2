"""Headless Chromium: a supervisor creates a campaign from a filter (the page counts the records
first), starts it, watches its progress bar on the supervisor page change as attempts finish in
PostgreSQL (the engine simulated through DialerStore), and pauses it there; at 380 and 1440 px."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import expect

from common.dialer.outcomes import AttemptResult, Outcome

pytestmark = pytest.mark.browser


async def sign_in(page, node, username: str) -> None:
    await page.goto(f"{node.url}/login")
    await page.fill("#username", username)
    await page.fill("#password", "secreto-123")
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{node.url}/")


@pytest.mark.parametrize("width,height", [(380, 800), (1440, 900)])
async def test_supervisor_creates_starts_watches_and_pauses(browser, node, store, pool, shots,
                                                            width, height):
    page = await (await browser.new_context(viewport={"width": width, "height": height})
                  ).new_page()
    await sign_in(page, node, "susana")
    await page.goto(f"{node.url}/campaigns/new")
    count = page.locator("#record-count")
    await expect(count).to_have_text("El filtro elige 5 de 5 preinstalaciones pendientes.")
    await page.fill("input[name=name]", "Jalisco pendientes")
    await page.select_option("select[name=f_zone]", "Jalisco")
    await expect(count).to_have_text("El filtro elige 3 de 5 preinstalaciones pendientes.")
    await page.check("input[name=f_missing][value=dni_front]")
    await expect(count).to_have_attribute("data-count", "2")
    await page.uncheck("input[name=f_missing][value=dni_front]")
    await expect(count).to_have_attribute("data-count", "3")
    # a mistake first: no agent chosen, Sunday closing before it opens
    await page.check("input[name=open_sun]")
    await page.fill("input[name=to_sun]", "08:00")
    await page.click("button.cmp-primary")
    await expect(page.locator("#err-agents")).to_contain_text("Elija al menos un asesor")
    await expect(page.locator("#err-hours_sun")).to_have_text(
        "La hora de cierre debe ser posterior a la de inicio.")
    await page.screenshot(path=str(shots / f"campaign-form-errors-{width}.png"), full_page=True)
    await page.fill("input[name=to_sun]", "14:00")
    await page.check("input[name=agents][value=agente1]")
    await page.check("input[name=agents][value=agente2]")
    await page.click("button.cmp-primary")

    await expect(page.locator("#import-summary [data-k=added]")).to_have_text("2")
    await expect(page.locator("#import-summary [data-k=bad]")).to_have_text("1")
    await expect(page.locator("#campaign-state")).to_have_text("Borrador")
    campaign_id = page.url.rsplit("/", 1)[1]
    await page.screenshot(path=str(shots / f"campaign-detail-{width}.png"), full_page=True)
    await page.click("#campaign-actions button.act-start")
    await expect(page.locator("#campaign-state")).to_have_text("En marcha")

    await page.goto(f"{node.url}/supervisor")
    await expect(page.locator("#conn")).to_have_attribute("data-conn", "on")
    card = page.locator(f'article.live-campaign[data-campaign="{campaign_id}"]')
    await expect(card).to_have_attribute("data-state", "running")
    await expect(card.locator('[data-seg=pending] .n')).to_have_text("2")
    await expect(card.locator('[data-seg=contacted] .n')).to_have_text("0")

    # the engine, simulated: both leads are dialled, one talks to an agent, one is busy
    # at the time the leads are due (the window may be closed as the test runs)
    now = max(datetime.now(UTC), await pool.fetchval(
        "SELECT max(next_at) FROM dialer_leads WHERE campaign_id = $1", campaign_id))
    claims = await store.claim(campaign_id, worker="w1", now=now, lease=timedelta(minutes=5),
                               open_zones=await store.open_zones(campaign_id, now), limit=2)
    assert len(claims) == 2
    await expect(card.locator('[data-seg=in_progress] .n')).to_have_text("2")
    await store.finish(claims[0], AttemptResult(Outcome.CONNECTED, False, now.timestamp(),
                                                now.timestamp(), None, ""), now)
    await store.finish(claims[1], Outcome.BUSY, now)
    await expect(card.locator('[data-seg=contacted] .n')).to_have_text("1")
    await expect(card.locator('[data-seg=pending] .n')).to_have_text("1")
    await expect(card.locator('[data-k="Contacto"] dd')).to_have_text("50 %")
    await expect(card.locator('rect[data-seg="contacted"]')).to_have_attribute("width", "50.000")

    await card.locator("button.act-pause").click()
    await expect(card).to_have_attribute("data-state", "paused")
    await expect(card.locator("button.act-resume")).to_be_visible()
    assert await pool.fetchval("SELECT state FROM dialer_campaigns WHERE campaign_id = $1",
                               campaign_id) == "paused"
    fit = await page.evaluate("() => document.documentElement.scrollWidth")
    assert fit <= width
    await page.screenshot(path=str(shots / f"supervisor-campaigns-{width}.png"), full_page=True)

    await page.goto(f"{node.url}/campaigns")
    await expect(page.locator(f'li[data-campaign="{campaign_id}"]')).to_have_attribute(
        "data-state", "paused")
    await page.screenshot(path=str(shots / f"campaigns-list-{width}.png"), full_page=True)


@pytest.mark.parametrize("width,height", [(380, 800), (1440, 900)])
async def test_dnc_import_shows_progress_and_summary(browser, node, pool, shots, tmp_path,
                                                     width, height):
    sheet = tmp_path / "repep.csv"
    lines = ["Telefono,Nombre"] + [f"55{i:08d},Persona {i}" for i in range(6000)]
    lines[10] = "no-es-numero,X"
    lines.append("5500000001,repetido")
    sheet.write_text("\n".join(lines) + "\n", encoding="utf-8")
    page = await (await browser.new_context(viewport={"width": width, "height": height})
                  ).new_page()
    await sign_in(page, node, "susana")
    await page.goto(f"{node.url}/dnc")
    await page.set_input_files("#dnc-import-form input[type=file]", str(sheet))
    await page.click("#dnc-import-form button")
    await expect(page.locator("#import-stage")).to_have_text("Importación terminada.",
                                                             timeout=30_000)
    assert await page.locator("#import-bar").evaluate("bar => bar.value") == 100
    summary = page.locator("#import-summary")
    await expect(summary).to_contain_text("Agregados: 5999")
    await expect(summary).to_contain_text("Repetidos en el archivo: 1")
    await expect(summary).to_contain_text("Línea 11: «no-es-numero» — no es un número "
                                          "telefónico válido")
    assert await pool.fetchval("SELECT count(*) FROM dialer_dnc") == 5999
    await page.screenshot(path=str(shots / f"dnc-import-{width}.png"), full_page=True)
    await page.reload()
    await expect(page.locator("#dnc-total")).to_contain_text("5999 números")
    await expect(page.locator("#dnc-list tbody tr")).to_have_count(50)
    fit = await page.evaluate("() => document.documentElement.scrollWidth")
    assert fit <= width
    await page.screenshot(path=str(shots / f"dnc-list-{width}.png"), full_page=True)


async def test_supervisor_pauses_and_resumes_an_agent(browser, node, shots):
    agent = await (await browser.new_context()).new_page()
    await sign_in(agent, node, "agente1")
    page = await (await browser.new_context(viewport={"width": 1440, "height": 900})).new_page()
    await sign_in(page, node, "susana")
    await page.goto(f"{node.url}/supervisor")
    row = page.locator('tr[data-agent="agente1"]')
    await expect(row).to_have_attribute("data-state", "available")
    await expect(page.locator('tr[data-agent="agente2"] .agent-dialer button')).to_have_count(0)
    await row.locator("button.agent-pause").click()
    await expect(row).to_have_attribute("data-state", "paused")
    await expect(row.locator(".reason")).to_have_text(" · Pausa de supervisión")
    await row.locator("button.agent-resume").click()
    await expect(row).to_have_attribute("data-state", "available")
    await page.screenshot(path=str(shots / "supervisor-agent-dialer-1440.png"))
