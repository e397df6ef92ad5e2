"""The agent page in headless Chromium: a campaign in preview offers a record, the agent skips
it and calls the next (the engine's command list says so), and after the call sets "volver a
llamar" at a local time: the callback row holds that time in UTC and Mis devoluciones lists it."""
from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import expect

from common.dialer.outcomes import Order, Outcome
from common.dialer.store import Campaign, Mode, NewLead
from common.envelope import CallUpdate
from tests.screenpop.conftest import record
from tests.screenpop.test_browser import sign_in
from tests.wrapup.conftest import ALWAYS_OPEN

pytestmark = pytest.mark.browser


def offer_of(claim, name: str) -> dict:
    return {"attempt_id": str(claim.attempt_id), "campaign_id": "c1",
            "campaign_name": "Preinstalaciones julio", "preinstallation_id": claim.preinstallation_id,
            "phone": claim.phone, "worker": "engine-1", "offered_at": str(time.time())}


async def engine_offers(redis, keys, fields: dict) -> None:
    await redis.hset(keys.dialer_offer("ana"), mapping=fields)
    await redis.publish(keys.dialer_offers_channel, json.dumps({"username": "ana",
                                                                "offer": fields}))


async def commands(redis, keys) -> list[dict]:
    return [json.loads(c) for c in await redis.lrange(keys.dialer_commands("engine-1"), 0, -1)]


async def test_preview_skip_call_and_a_callback_after_the_call(browser, floor, redis, keys,
                                                               index, telephony, dialer, shots):
    node, _ = floor
    store, pool = dialer
    await index.replace_all([
        record("1842", "Juan Pérez", ["+525512345678"], email="juan@example.com",
               address="Av. Juárez 120", zone="Norte"),
        record("1843", "María López", ["+525511112222"])], source="test")
    now = datetime.now(UTC)
    await store.create_campaign(Campaign("c1", "Preinstalaciones julio", Mode.PREVIEW,
                                         Order.AGENT_FIRST, 3, {"windows": ALWAYS_OPEN}))
    await store.add_leads("c1", [NewLead("1843", "5511112222"), NewLead("1842", "5512345678")],
                          now)
    first, second = await store.claim("c1", worker="engine-1", now=now,
                                      lease=timedelta(minutes=5), limit=2, agent="ana",
                                      open_zones=await store.open_zones("c1", now))

    page = await browser.new_page(viewport={"width": 1440, "height": 900})
    await sign_in(page, node, "ana")
    preview = page.locator("#preview")
    await engine_offers(redis, keys, offer_of(first, "María López"))
    await expect(preview.locator(".record-name")).to_have_text("María López")
    await expect(preview.locator("[data-f=campaign]")).to_have_text("Campaña Preinstalaciones julio")
    await page.keyboard.press("Alt+s")
    await expect(preview).to_be_hidden()
    assert await commands(redis, keys) == [
        {"attempt_id": str(first.attempt_id), "action": "skip", "by": "ana"}]
    assert await store.finish(first, Outcome.SKIPPED, datetime.now(UTC))

    await engine_offers(redis, keys, offer_of(second, "Juan Pérez"))
    await expect(preview.locator(".record-name")).to_have_text("Juan Pérez")
    await expect(preview.locator(".missing-title")).to_have_text("FALTA (2)")
    await page.screenshot(path=str(shots / "preview-1440.png"))
    await page.set_viewport_size({"width": 380, "height": 800})
    await page.screenshot(path=str(shots / "preview-380.png"), full_page=True)
    await page.set_viewport_size({"width": 1440, "height": 900})
    await preview.locator(".preview-call").click()
    await expect(preview).to_be_hidden()
    assert [c["action"] for c in await commands(redis, keys)] == ["skip", "call"]
    assert (await commands(redis, keys))[1]["attempt_id"] == str(second.attempt_id)

    # the engine dials: the agent's phone first, then the customer answers
    call_id = second.channel_id
    variables = {"CAMPAIGN_ID": "c1", "PREINST_ID": "1842", "SP_CALL": str(second.attempt_id)}

    def update(state: str, leg: str, seq: int) -> CallUpdate:
        return CallUpdate(call_id=call_id, direction="outbound", state=state,
                          customer_number="5512345678", agents={"PJSIP/6001": leg},
                          started_at=time.time() - 30, event_at=time.time(), seq=seq,
                          variables=variables)

    await telephony.publish(update("answered", "answered", 1))
    card = page.locator("article.call:not([hidden])")
    await expect(card.locator("[data-f=state]")).to_have_text("EN LLAMADA")
    wrapup = card.locator(".wrapup")
    await expect(wrapup).to_be_visible()
    assert await wrapup.get_attribute("open") is None  # folded while the call is live
    await telephony.publish(update("ended", "ended", 2))
    await expect(card.locator("[data-f=state]")).to_have_text("FINALIZADA")
    assert await store.finish(second, Outcome.CONNECTED, datetime.now(UTC))
    await expect(wrapup).to_have_attribute("open", "")
    assert not await page.evaluate("document.activeElement.closest('.wrapup') !== null")

    await page.keyboard.press("Alt+r")
    await page.keyboard.press("3")  # the third result: volver a llamar
    await expect(wrapup.locator("[data-f=wrapup-callback]")).to_be_visible()
    day = (datetime.now(ZoneInfo("America/Mexico_City")).date() + timedelta(days=1))
    await wrapup.locator("input[name=callback_date]").fill(day.isoformat())
    await wrapup.locator("input[name=callback_time]").fill("10:30")
    await wrapup.locator("textarea[name=notes]").fill("Prefiere después de las 10")
    await page.set_viewport_size({"width": 380, "height": 800})
    await page.screenshot(path=str(shots / "wrapup-380.png"), full_page=True)
    await page.set_viewport_size({"width": 1440, "height": 900})
    await page.keyboard.press("Control+Enter")
    await expect(wrapup.locator("[data-f=wrapup-status]")).to_contain_text("Guardado")
    await expect(wrapup.locator("[data-f=wrapup-saved]")).to_have_text(
        f"✓ Volver a llamar el… · {day:%d/%m/%Y} 10:30")
    due = datetime(day.year, day.month, day.day, 10, 30,
                   tzinfo=ZoneInfo("America/Mexico_City")).astimezone(UTC)
    row = await pool.fetchrow("SELECT due_at, for_agent FROM dialer_callbacks WHERE done_at IS NULL")
    assert (row["due_at"], row["for_agent"]) == (due, "ana")
    lead = await pool.fetchrow("SELECT priority, next_at FROM dialer_leads "
                               "WHERE preinstallation_id = '1842'")
    assert (lead["priority"], lead["next_at"]) == (1, due)
    callbacks = page.locator("#callbacks")
    await expect(callbacks.locator("summary")).to_have_text("Mis devoluciones (1)")
    await callbacks.locator("summary").click()
    await expect(callbacks.locator(".callback-who")).to_have_text(["Juan Pérez"])
    await expect(callbacks.locator(".callback-when")).to_contain_text(["10:30"])
    await page.screenshot(path=str(shots / "wrapup-1440.png"))
    await page.set_viewport_size({"width": 380, "height": 800})
    await page.screenshot(path=str(shots / "callbacks-380.png"), full_page=True)


async def test_an_offer_never_replaces_the_live_call_on_screen(browser, floor, redis, keys,
                                                               index, telephony, shots):
    node, _ = floor
    await index.replace_all([record("1842", "Juan Pérez", ["+525512345678"]),
                             record("1843", "María López", ["+525511112222"])], source="test")
    page = await browser.new_page(viewport={"width": 380, "height": 800})
    await sign_in(page, node, "ana")
    await telephony.publish(CallUpdate(call_id="in-1", direction="inbound", state="answered",
                                       customer_number="5511112222",
                                       agents={"PJSIP/6001": "answered"}, queue="ventas",
                                       started_at=time.time() - 5, event_at=time.time(), seq=1))
    card = page.locator("article.call:not([hidden])")
    await expect(card.locator(".record-name")).to_have_text("María López")
    fields = {"attempt_id": "a" * 32, "campaign_id": "c1", "campaign_name": "Julio",
              "preinstallation_id": "1842", "phone": "+525512345678", "worker": "engine-1",
              "offered_at": str(time.time())}
    await engine_offers(redis, keys, fields)
    preview = page.locator("#preview")
    await expect(preview).to_have_attribute("data-mode", "compact")
    await expect(preview.locator("[data-f=wait]")).to_be_visible()
    await expect(preview.locator(".preview-call")).to_be_hidden()
    await expect(card.locator(".record-name")).to_have_text("María López")  # still in front
    await page.keyboard.press("Alt+l")
    await page.screenshot(path=str(shots / "preview-during-call-380.png"), full_page=True)
    assert await commands(redis, keys) == []  # no dialling while on a call

    await telephony.publish(CallUpdate(call_id="in-1", direction="inbound", state="ended",
                                       customer_number="5511112222",
                                       agents={"PJSIP/6001": "ended"}, queue="ventas",
                                       started_at=time.time() - 5, event_at=time.time(), seq=2))
    await expect(preview).to_have_attribute("data-mode", "full")
    await expect(preview.locator(".record-name")).to_have_text("Juan Pérez")
    await expect(card.locator(".wrapup")).to_have_attribute("open", "")  # the result still there
    await page.set_viewport_size({"width": 1440, "height": 900})
    await page.screenshot(path=str(shots / "preview-after-call-1440.png"))
    await page.keyboard.press("Alt+l")
    await expect(preview).to_be_hidden()
    assert [c["action"] for c in await commands(redis, keys)] == ["call"]
