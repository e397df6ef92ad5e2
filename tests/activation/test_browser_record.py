"""In Chromium: what the pop does in WispHub updates the record card (FALTA), the guide and the
final checklist at once, without a second box to tick."""
from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.activation import samples
from tests.activation.conftest import RECORD_ID

pytestmark = pytest.mark.browser

JPEG = samples.jpeg(3000)


async def test_upload_and_activation_update_falta_and_the_checklist(browser, agent_on_call,
                                                                    tmp_path, shots):
    pop, _ = agent_on_call
    page = await browser.new_page(viewport={"width": 1440, "height": 900})
    try:
        await _follow_the_work(page, pop, tmp_path, shots)
    finally:
        await page.close()


async def _follow_the_work(page, pop, tmp_path, shots) -> None:
    await page.goto(f"{pop.url}/login")
    await page.fill("#username", "ana")
    await page.fill("#password", "secreto-123")
    await page.click("button[type=submit]")
    card = page.locator("article.call:not([hidden])")
    falta = card.locator("[data-f=missing] li")
    checklist = card.locator(".checklist li")
    # captured during the call (extra phone, referral, location, housing) is no longer missing
    await expect(falta).to_have_text(["✗ INE (frente)", "✗ INE (reverso)",
                                      "✗ Comprobante de domicilio"])
    await expect(card.locator("[data-f=missing-title]")).to_have_text("FALTA (3)")
    await expect(checklist.filter(has_text="Preinstalación")).to_have_text(
        "✗ Preinstalación sin activar")

    photo = tmp_path / "ine-frente.jpg"
    photo.write_bytes(JPEG)
    await card.locator(".wh-file").set_input_files(str(photo))
    await expect(falta).to_have_text(["✗ INE (reverso)", "✗ Comprobante de domicilio"])
    await expect(checklist.filter(has_text="Documentos")).to_have_text(
        "✗ Documentos recibidos y subidos (faltan: INE (reverso), Comprobante de domicilio)")
    await expect(card.locator('input[type=checkbox][value="dni_front"]')).to_have_count(0)

    await card.locator(".wh-activate").click()
    reference = f"Instalación {RECORD_ID}"
    await expect(card.locator("[data-f=id]")).to_have_text(
        f"INSTALACIÓN #{RECORD_ID} · activada ({reference})")
    await expect(card.locator(".activation-done")).to_have_text(
        f"✓ Preinstalación activada en WispHub ({reference}): el cliente ya está en Instalaciones.")
    await expect(checklist.filter(has_text="Preinstalación")).to_have_text(
        f"✓ Preinstalación activada ({reference})")
    await page.screenshot(path=str(shots / "record-after-activation-1440.png"), full_page=True)
