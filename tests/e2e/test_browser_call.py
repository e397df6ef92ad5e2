"""A simulated PBX call shows up on the signed-in agent's page in Chromium."""
from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.screenpop.test_browser import sign_in

pytestmark = pytest.mark.browser


async def test_simulated_call_pops_on_the_agent_page_with_customer_and_missing_fields(
        stack, browser):
    page = await browser.new_page(viewport={"width": 380, "height": 800})
    await sign_in(page, stack.node, "agente1")
    await stack.simulator.start_call(
        "inbound_queue", customer="5215512345678", name="Juan Perez",
        agents=["PJSIP/6001", "PJSIP/6002"], queue="ventas", strategy="ringall",
        answered_by="PJSIP/6001", hold_at="answered", speed=0.0)
    card = page.locator("article.call:not([hidden])")
    await expect(card.locator(".record-name")).to_have_text("Juan Pérez López")
    await expect(card.locator("[data-f=state]")).to_have_text("EN LLAMADA")
    await expect(card.locator(".missing li").first).to_have_text("✗ INE (frente)")
    await expect(card.locator("[data-f=customer]")).to_have_text("+52 55 1234 5678")
