"""The desk in headless Chromium: a reviewer finds a call, plays its recording and scores it; the
agent sees the score and disputes an item; a second reviewer resolves it. Screenshots at 380 px
and 1440 px go to SCREENSHOT_DIR."""
from __future__ import annotations

import math
import re
import struct
import wave
from datetime import timedelta

import pytest
from playwright.async_api import expect

from screenpop.qa.generated_calls import generate_calls, insert_call
from tests.screenpop.conftest import PASSWORD

from .conftest import NOW

pytestmark = pytest.mark.browser


def write_wav(path, seconds: float = 3.0, rate: int = 8000) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / rate)))
                                 for n in range(int(seconds * rate))))


async def open_as(browser, desk, username: str, width: int = 1440):
    context = await browser.new_context(viewport={"width": width, "height": 900})
    page = await context.new_page()
    await page.goto(f"{desk.url}/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{desk.url}/")
    return page


async def test_score_dispute_resolve_in_chromium(browser, desk, pool, recordings, shots):
    write_wav(recordings / "llamada-1.wav")
    async with pool.acquire() as conn:
        await generate_calls(conn, 300, end=NOW - timedelta(hours=2), days=10)
        await insert_call(conn, "llamada-1", started_at=NOW, agents=("ana",),
                          number="5598765432", campaign="fibra-nov", preinstallation="pre-77",
                          recording_file="llamada-1.wav", steps_reached=("saludo", "cobertura"),
                          events=[(timedelta(0), "started", {}), (timedelta(seconds=5), "agent_answered", {}),
                                  (timedelta(seconds=65), "ended", {})])

    rita = await open_as(browser, desk, "rita")
    await rita.goto(f"{desk.url}/qa")
    await rita.fill("input[name=number]", "5598765432")
    await rita.click("text=Filtrar")
    rows = rita.locator("#calls tbody tr")
    await expect(rows).to_have_count(1)
    await rita.screenshot(path=str(shots / "qa-list-1440.png"), full_page=True)
    await rows.locator("a").click()
    await expect(rita.locator("h1")).to_contain_text("Llamada del 20/11/2026 12:00:00")
    await expect(rita.locator(".qa-timeline li")).to_have_count(3)
    await rita.evaluate("""() => {
        const player = document.getElementById('player');
        player.muted = true;
        return player.play();
    }""")
    await rita.wait_for_function("() => document.getElementById('player').currentTime > 0.3",
                                 timeout=10_000)
    assert abs(await rita.evaluate("document.getElementById('player').duration") - 3.0) < 0.05
    await rita.evaluate("document.getElementById('player').pause()")

    form = rita.locator("#score-form")
    for item in ("saludo", "cobertura", "plan", "clausula_12m", "deposito", "documentos",
                 "cierre", "objeciones", "datos_protegidos"):
        await form.locator(f"input[name=result-{item}][value=pass]").check()
    await form.locator("input[name=result-tono][value=fail]").check()
    await form.locator("input[name=comment-tono]").fill("Interrumpió al cliente")
    await form.locator("button[data-target=at-tono]").click()  # the player's current minute
    await expect(form.locator("input[name=at-tono]")).to_have_value("0:00")
    await form.locator("input[name=at-tono]").fill("0:02")
    await form.locator("button[type=submit]").click()
    evaluation = rita.locator(".qa-evaluation")
    await expect(evaluation.locator(".qa-score-value")).to_have_text("90.0")
    await rita.screenshot(path=str(shots / "qa-call-1440.png"), full_page=True)
    await rita.set_viewport_size({"width": 380, "height": 800})
    await rita.screenshot(path=str(shots / "qa-call-380.png"), full_page=True)
    await rita.goto(f"{desk.url}/qa")
    await rita.screenshot(path=str(shots / "qa-list-380.png"), full_page=True)

    ana = await open_as(browser, desk, "ana", width=380)
    await ana.goto(f"{desk.url}/qa")
    await expect(ana.locator("#calls tbody tr")).to_have_count(1)
    await expect(ana.locator("#calls .score")).to_have_text("90.0")
    await ana.locator("#calls a").click()
    tono = ana.locator(".qa-items li[data-item=tono]")
    await expect(tono.locator(".qa-result")).to_have_text("No cumple")
    await tono.locator(".qa-seek").click()
    assert await ana.evaluate("document.getElementById('player').currentTime") >= 2
    await tono.locator("textarea[name=reason]").fill("Solo confirmé la dirección")
    await tono.locator("button", has_text="Disputar").click()
    await expect(ana.locator(".qa-items li[data-item=tono] .qa-dispute")).to_contain_text(
        "Pendiente de un segundo revisor")
    await ana.screenshot(path=str(shots / "qa-agent-380.png"), full_page=True)

    sofia = await open_as(browser, desk, "sofia")
    await sofia.goto(f"{desk.url}/qa/disputes")
    await sofia.locator(".qa-dispute-row a").click()
    resolve = sofia.locator(".qa-items li[data-item=tono] .qa-resolve")
    await resolve.locator("textarea[name=note]").fill("En 0:02 no interrumpió")
    await resolve.locator("button[value=overturned]").click()
    await expect(sofia.locator(".qa-evaluation .qa-score-value")).to_have_text("100.0")

    await ana.reload()
    await expect(ana.locator(".qa-evaluation .qa-score-value")).to_have_text("100.0")
    await expect(ana.locator(".qa-resolution")).to_contain_text("Corregida por Sofia")

    await rita.set_viewport_size({"width": 1440, "height": 900})
    await rita.goto(f"{desk.url}/qa/charts")
    await expect(rita.locator("#chart-weekly svg circle")).to_have_count(1)
    await expect(rita.locator("#chart-activation svg rect")).not_to_have_count(0)
    # a rate says what it is of: "0 % · 0 de 2 llamadas"
    await expect(rita.locator("#chart-activation .qa-svg-value").first).to_have_text(
        re.compile(r"^\d+(\.\d)? % · \d+ de \d+ llamadas?$"))
    await rita.screenshot(path=str(shots / "qa-charts-1440.png"), full_page=True)
    await rita.set_viewport_size({"width": 380, "height": 800})
    await rita.reload()
    await expect(rita.locator("#chart-weekly svg circle")).to_have_count(1)
    await rita.screenshot(path=str(shots / "qa-charts-380.png"), full_page=True)
