"""The pop in headless Chromium: activate and upload from the call card, see the results."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.activation import samples
from tests.activation.conftest import RECORD_ID

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
    await expect(actions.locator(".wh-preview-fields")).to_contain_text("10.20.0.10")
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
