"""A simulated PBX call shows up on the signed-in agent's page in Chromium."""
from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.screenpop.test_browser import sign_in
from tests.screenpop.test_guided_browser import HIDEABLE, RECORD_NOTIFICATIONS, poll

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


# Remembers whether the page ever rang or flashed its title (alerts.js), however briefly.
RECORD_RINGING = """
window.__rang = false;
window.__titles = new Set();
document.addEventListener("DOMContentLoaded", () => {
  new MutationObserver(() => {
    if (document.documentElement.dataset.ringing === "on") window.__rang = true;
  }).observe(document.documentElement, { attributes: true });
  new MutationObserver(() => window.__titles.add(document.title))
    .observe(document.querySelector("title"), { childList: true, characterData: true, subtree: true });
});
"""


async def test_a_call_the_agent_dials_does_not_ring_and_an_inbound_one_does(stack, browser):
    ctx = await browser.new_context(permissions=["notifications"])
    for script in (RECORD_NOTIFICATIONS, HIDEABLE, RECORD_RINGING):
        await ctx.add_init_script(script)
    page = await ctx.new_page()
    await sign_in(page, stack.node, "agente1")
    await page.evaluate("window.__setHidden(true)")  # the agent is in the softphone, not here

    dialled = await stack.simulator.start_call("agent_outbound", customer="5512345678",
                                               agents=["PJSIP/6001"], hold_at="answered",
                                               speed=0.0)
    card = page.locator("article.call:not([hidden])")
    await expect(card.locator("[data-f=direction]")).to_have_text("Saliente · marcada por usted")
    await expect(card.locator("[data-f=state]")).to_have_text("EN LLAMADA")
    await expect(card.locator("[data-f=seen]")).to_be_hidden()
    assert await page.evaluate("window.__notes.length") == 0
    assert await page.evaluate("window.__rang") is False
    assert await page.evaluate("[...window.__titles].filter(t => t.startsWith('📞'))") == []
    await dialled.release()
    await expect(card.locator("[data-f=state]")).to_have_text("FINALIZADA")

    await stack.simulator.start_call("inbound_direct", customer="+525598765432",
                                     agents=["PJSIP/6001"], hold_at="answered", speed=0.0)
    await poll(page, "window.__notes.length", 1)
    assert await page.evaluate("window.__rang") is True


async def test_a_campaign_call_says_which_campaign_placed_it(stack, browser, redis, keys):
    # the engine's live figures name the campaign (telephony.dialer.floor.live_figures)
    await redis.hset(keys.dialer_live("c1"), mapping={"campaign_id": "c1",
                                                      "name": "Documentos pendientes"})
    page = await browser.new_page(viewport={"width": 380, "height": 800})
    await sign_in(page, stack.node, "agente1")
    await stack.simulator.start_call(
        "dialer_agent_first", agents=["PJSIP/6001"], hold_at="answered", speed=0.0,
        variables={"CAMPAIGN_ID": "c1", "PREINST_ID": "1001", "SP_CALL": "attempt-1"})
    card = page.locator("article.call:not([hidden])")
    await expect(card.locator("[data-f=direction]")).to_have_text(
        "Campaña · Documentos pendientes")
