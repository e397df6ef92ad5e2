"""The pop in headless Chromium: activate and upload from the call card, see the results."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.activation import samples
from tests.activation.conftest import CALL_ID, RECORD_ID

pytestmark = pytest.mark.browser

JPEG = samples.jpeg(3000)


async def test_activate_and_upload_from_the_pop(browser, agent_on_call, sandbox, tmp_path):
    pop, _ = agent_on_call
    page = await browser.new_page(viewport={"width": 1440, "height": 900})
    await page.goto(f"{pop.url}/login")
    await page.fill("#username", "ana")
    await page.fill("#password", "secreto-123")
    await page.click("button[type=submit]")
    card = page.locator("article.call:not([hidden])")
    actions = card.locator(".wh-actions")
    activate = actions.locator(".wh-activate")
    await expect(activate).to_be_enabled()

    await actions.locator(".wh-preview").click()
    fields = actions.locator(".wh-preview-fields")
    await expect(fields).to_contain_text("10.20.2.10")
    await expect(fields).to_contain_text("Plan internet")
    await expect(fields).to_contain_text("20 MEGAS 450 · Intermedio Inalámbrico")
    assert "cliente-" not in await fields.inner_text()
    assert RECORD_ID in sandbox.store.preinstallations  # the preview sent nothing

    await activate.click()
    done = actions.locator('.wh-op[data-op="activation"]')
    await expect(done).to_have_attribute("data-state", "done")
    await expect(done).to_contain_text(f"Instalación {RECORD_ID}")
    assert RECORD_ID in sandbox.store.installations

    photo = tmp_path / "ine-frente.jpg"
    photo.write_bytes(JPEG)
    await actions.locator(".wh-file").set_input_files(str(photo))
    await expect(actions.locator(".wh-upload progress")).to_have_attribute("value", "100")
    document = actions.locator('.wh-op[data-state="done"]', has_text="INE (frente)")
    await expect(document).to_contain_text("Documento «INE (frente)»")
    assert [d["titulo"] for d in sandbox.store.documents[f"{RECORD_ID}@isp-demo"]] == ["INE (frente)"]

    fake = tmp_path / "virus.pdf"
    fake.write_bytes(b"MZ not a pdf")
    await actions.locator(".wh-file").set_input_files(str(fake))
    await expect(actions.locator(".wh-uploads .wh-error")).to_have_text(
        "Solo imágenes (JPG, PNG, WebP, HEIC) y PDF.")
    await page.screenshot(path=str(Path(os.environ.get("SCREENSHOT_DIR") or tmp_path) / "actions-1440.png"), full_page=True)


async def sign_in(page, pop) -> None:
    await page.goto(f"{pop.url}/login")
    await page.fill("#username", "ana")
    await page.fill("#password", "secreto-123")
    await page.click("button[type=submit]")


async def test_a_second_tab_sees_the_result_pushed_without_polling(browser, agent_on_call, sandbox):
    pop, _ = agent_on_call
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        first, second = await context.new_page(), await context.new_page()
        await sign_in(first, pop)
        await second.goto(f"{pop.url}/")
        reads = []
        second.on("request", lambda r: reads.append(r.url)
                  if f"/api/calls/{CALL_ID}/operations" in r.url else None)
        cards = [p.locator("article.call:not([hidden]) .wh-actions") for p in (first, second)]
        for card in cards:
            await expect(card.locator(".wh-activate")).to_be_enabled()
        await second.wait_for_timeout(500)  # the one read when the call is first shown
        read_on_load = len(reads)
        await cards[0].locator(".wh-activate").click()
        pushed = cards[1].locator('.wh-op[data-op="activation"]')
        await expect(pushed).to_have_attribute("data-state", "done")
        await expect(pushed).to_contain_text(f"Instalación {RECORD_ID}")
        await expect(cards[1].locator(".wh-activate")).to_have_text("Preinstalación activada")
        await second.wait_for_timeout(2000)  # time for any poll to show itself
        assert len(reads) == read_on_load, reads  # nothing read after the click: it was pushed
    finally:
        await context.close()


async def test_the_button_says_what_is_still_needed(browser, agent_on_call, redis, keys):
    pop, _ = agent_on_call
    await redis.hdel(keys.call_progress(CALL_ID), "a:plan_id", "a:install_date")
    page = await browser.new_page(viewport={"width": 380, "height": 800})
    try:
        await sign_in(page, pop)
        activate = page.locator("article.call:not([hidden]) .wh-activate")
        await expect(activate).to_have_text("Para activar falta el plan y la fecha de instalación")
        await expect(activate).to_be_disabled()
    finally:
        await page.close()
