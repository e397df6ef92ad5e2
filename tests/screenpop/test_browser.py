"""The agent page in headless Chromium: sign in, pops, escaping, reconnect, screenshots."""
from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.screenpop.conftest import Node, call, record

pytestmark = pytest.mark.browser


async def sign_in(page, node: Node, username: str) -> None:
    await page.goto(f"{node.url}/login")
    await page.fill("#username", username)
    await page.fill("#password", "secreto-123")
    await page.click("button[type=submit]")
    await expect(page.locator("#conn")).to_have_attribute("data-conn", "on")


async def test_pop_shows_customer_and_missing_fields_and_survives_a_restart(
        browser, config, redis, index, users, telephony, shots):
    await index.replace_all([
        record("101", "Juan Pérez", ["+525512345678"], email="juan@example.com",
               address="Av. Juárez 120, Col. Centro", zone="Norte",
               missing=("dni_front", "dni_back", "proof_of_address", "extra_phone")),
        record("201", "María López", ["+525511112222"], email="maria@example.com"),
        record("202", "José López", ["+525511112222"]),
    ], source="test")
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"], "Ana Torres")
    node = await Node(config, redis, index).start()
    try:
        page = await browser.new_page(viewport={"width": 1440, "height": 900})
        await sign_in(page, node, "ana")
        await telephony.publish(call("c1", {"PJSIP/6001": "ringing"}, number="5512345678"))
        card = page.locator("article.call:not([hidden])")
        await expect(card.locator(".record-name")).to_have_text("Juan Pérez")
        await expect(card.locator("[data-f=state]")).to_have_text("SONANDO")
        await expect(card.locator("[data-f=direction]")).to_have_text("Entrante · cola ventas")
        await expect(card.locator("[data-f=customer]")).to_have_text("+52 55 1234 5678")
        await expect(card.locator(".missing-title")).to_have_text("FALTA (4)")
        await expect(card.locator(".missing li")).to_have_text(
            ["✗ INE (frente)", "✗ INE (reverso)", "✗ Comprobante de domicilio",
             "✗ Teléfono adicional"])
        await expect(card.locator("[data-f=pending]")).to_have_text("Pendiente hace 3 días")
        await page.screenshot(path=str(shots / "one-1440.png"))

        await telephony.publish(call("c1", {"PJSIP/6001": "answered"}, number="5512345678", seq=2))
        await expect(card.locator("[data-f=state]")).to_have_text("EN LLAMADA")

        # A shared family number rings in its own tab; the agent switches to it and picks from
        # the list with the keyboard.
        await telephony.publish(call("c2", {"PJSIP/6001": "ringing"}, number="5511112222"))
        await expect(page.locator("#tabs .tab")).to_have_count(2)
        await expect(card.locator(".record-name")).to_have_text("Juan Pérez")
        await page.keyboard.press("Alt+2")
        await expect(card.locator(".match-title")).to_have_text("Varias coincidencias (2)")
        await page.set_viewport_size({"width": 380, "height": 800})
        await page.screenshot(path=str(shots / "many-380.png"), full_page=True)
        await page.set_viewport_size({"width": 1440, "height": 900})
        await page.screenshot(path=str(shots / "many-1440.png"))
        await page.keyboard.press("2")
        await expect(card.locator(".record-name")).to_have_text("José López")
        await expect(card.locator(".record-id")).to_contain_text("vinculada")

        # The server goes away and comes back on the same port: the page reconnects.
        port = node.port
        await node.stop()
        await expect(page.locator("#conn")).not_to_have_attribute("data-conn", "on")
        node = await Node(config, redis, index, port).start()
        await expect(page.locator("#conn")).to_have_attribute("data-conn", "on", timeout=20000)
        await telephony.publish(call("c3", {"PJSIP/6001": "ringing"}, number="anonymous"))
        await expect(page.locator("#tabs .tab")).to_have_count(3)
        await page.keyboard.press("Alt+3")
        await expect(card.locator(".match-title")).to_have_text("Sin coincidencia")
        await expect(card.locator("[data-f=customer]")).to_have_text("Número oculto")
        await page.fill("article.call:not([hidden]) input[name=q]", "juan")
        await page.keyboard.press("Enter")
        await expect(card.locator(".choices .choice strong")).to_have_text(["Juan Pérez"])
        await page.screenshot(path=str(shots / "none-1440.png"))
        await page.set_viewport_size({"width": 380, "height": 800})
        await page.screenshot(path=str(shots / "none-380.png"), full_page=True)
    finally:
        await node.stop()


async def test_html_in_a_customer_name_is_shown_as_text(browser, config, redis, index, users,
                                                        telephony):
    hostile = '<img src=x onerror="alert(1)"><script>alert(2)</script>Pedro'
    await index.replace_all([record("666", hostile, ["+525599998888"])], source="test")
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"])
    node = await Node(config, redis, index).start()
    try:
        page = await browser.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))
        await sign_in(page, node, "ana")
        await telephony.publish(call("x1", {"PJSIP/6001": "ringing"}, number="5599998888"))
        name = page.locator("article.call:not([hidden]) .record-name")
        await expect(name).to_have_text(hostile)
        assert await name.locator("img, script").count() == 0
        # A sentinel call proves the page kept running after rendering the hostile name.
        await telephony.publish(call("x2", {"PJSIP/6001": "ringing"}, number="anonymous"))
        await expect(page.locator("#tabs .tab")).to_have_count(2)
        assert dialogs == []
    finally:
        await node.stop()
