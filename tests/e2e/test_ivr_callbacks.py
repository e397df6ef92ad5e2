"""The IVR's callback scenarios end to end on real parts: the simulator plays the calls and runs
their FastAGI steps against telephony's server, the requests land in Redis, the supervisor page
lists them in Chromium, and the queue callbacks dial one back through an AMI Originate whose call
pops at the agent as «Devolución de llamada» with the caller's number and record."""
from __future__ import annotations

import asyncio
import json

import pytest
from playwright.async_api import expect

from telephony.dialer.queue_callbacks import (
    CallbackCall,
    CallbackDispatcher,
    CallbackSettings,
    ExecutorPlacer,
)
from telephony.queue_waits import QueueWaits
from tests.e2e.test_call_to_pop import signed_in
from tests.screenpop.test_browser import sign_in

pytestmark = pytest.mark.browser

CALLER = dict(customer="5215512345678", name="Juan Perez", agents=[], speed=0.0)
RECORD = "Juan Pérez López"  # the sandbox's record for +52 55 1234 5678


class Recording:
    """The dialer's Originate executor on telephony's AMI session, remembering what it dialled."""

    def __init__(self, stack) -> None:
        self._placer = ExecutorPlacer(stack.telephony.dialer.executor, ring_seconds=10.0)
        self.calls: list[CallbackCall] = []

    async def place(self, call: CallbackCall) -> str:
        self.calls.append(call)
        return await self._placer.place(call)


def dispatcher(stack, redis, keys, placer) -> CallbackDispatcher:
    return CallbackDispatcher(redis, keys, placer, QueueWaits(),
                              CallbackSettings(queues={"ventas": ("PJSIP/6001",)}), worker="e2e")


async def pending(redis, keys):
    return [json.loads(m) for m in await redis.zrange(keys.callback_requests("ventas"), 0, -1)]


async def screenshot(page, shots, name: str) -> None:
    await page.screenshot(path=str(shots / name), full_page=True)


@pytest.mark.parametrize("width", [380, 1440])
async def test_after_hours_no_agent_rings_and_the_supervisor_sees_the_pending_callback(
        stack, agents, users, browser, redis, keys, shots, width):
    _, ana = await signed_in(agents, stack, "agente1")
    await users.add("jefa", "secreto-123", "supervisor", [], "Sofía Ruiz")
    boss = await (await browser.new_context(viewport={"width": width, "height": 900})).new_page()
    await sign_in(boss, stack.node, "jefa")
    await boss.goto(f"{stack.node.url}/supervisor")
    await expect(boss.locator("#callbacks-empty")).to_be_visible()
    await expect(boss.locator("#conn")).to_have_attribute("data-conn", "on")

    closed = await stack.simulator.start_call("ivr_after_hours", **CALLER)
    await closed.wait_done()
    [request] = await pending(redis, keys)
    assert request["number"] == "+525512345678" and request["call_id"] == closed.call_id

    item = boss.locator('.callbacks-queue[data-queue="ventas"] .callbacks-pending li')
    # told by its socket (the page's own reading is every 30 s, past this wait)
    await expect(item).to_have_count(1)
    await expect(item.locator(".callback-number")).to_have_text(f"+52 55 1234 5678 · {RECORD}")
    await expect(item.locator(".callback-state")).to_have_text("en espera")
    await expect(boss.locator("#callbacks-count")).to_have_text("(1)")
    box = await boss.locator("#callbacks").bounding_box()
    assert box is not None and box["x"] + box["width"] <= width
    await screenshot(boss, shots, f"supervisor-callbacks-{width}.png")

    # the after-hours call rang nobody: the agent's next pop is the next call that reaches them
    direct = await stack.simulator.start_call("inbound_direct", customer="+525598765432",
                                              agents=["PJSIP/6001"], speed=0.0)
    assert (await ana.pop())["call_id"] == direct.call_id


async def test_a_waiting_caller_s_callback_is_dialled_and_pops_as_a_callback(
        stack, agents, browser, redis, keys, shots):
    page = await browser.new_page(viewport={"width": 1440, "height": 900})
    await sign_in(page, stack.node, "agente1")  # signed in: available
    waiting = await stack.simulator.start_call("ivr_callback", **CALLER)
    await waiting.wait_done()
    [request] = await pending(redis, keys)
    assert request["call_id"] == waiting.call_id
    assert request["preinstallation_id"]  # the IVR's look-up found the record

    placer = Recording(stack)
    dialled = asyncio.gather(*await dispatcher(stack, redis, keys, placer).run_once())

    card = page.locator("article.call:not([hidden])")
    await expect(card.locator("[data-f=direction]")).to_have_text("Devolución de llamada")
    await expect(card.locator("[data-f=customer]")).to_have_text("+52 55 1234 5678")
    await expect(card.locator(".record-name")).to_have_text(RECORD)
    # the phone rang before the customer was dialled: the guided call follows the record found
    await expect(card.locator("[data-f=script] .step-title")).to_be_visible()
    await expect(card.locator("[data-f=script]")).not_to_contain_text("sin preinstalación vinculada")
    await screenshot(page, shots, "agent-callback-1440.png")
    await page.set_viewport_size({"width": 380, "height": 800})
    await expect(card.locator("[data-f=direction]")).to_be_visible()
    await screenshot(page, shots, "agent-callback-380.png")
    assert await dialled == ["connected"]  # once the call is over
    [call] = placer.calls
    assert (call.endpoint, call.number) == ("PJSIP/6001", "5512345678")
    assert await pending(redis, keys) == []
    [done] = await redis.zrange(keys.callbacks_finished("ventas"), 0, -1)
    assert json.loads(done)["outcome"] == "connected"


async def test_the_callback_pop_over_the_socket_carries_the_request(stack, agents, redis, keys):
    _, ana = await signed_in(agents, stack, "agente1")
    waiting = await stack.simulator.start_call("ivr_callback", **CALLER)
    await waiting.wait_done()
    dialled = asyncio.gather(*await dispatcher(stack, redis, keys, Recording(stack)).run_once())
    pops = [await ana.pop()]
    while not pops[-1]["customer_number"] and pops[-1]["state"] != "ended":
        pops.append(await ana.pop())
    # agent first: the agent's phone rings (and the page with it) before the number is dialled
    assert pops[0]["state"] == "ringing" and pops[0]["placed_by_agent"] is False
    attempt = pops[0]["callback"]["attempt_id"]
    assert attempt.startswith("callback-") and all(p["callback"] == {"attempt_id": attempt}
                                                   for p in pops)
    answered = pops[-1]
    assert answered["customer_number"] == "+525512345678"
    assert answered["match"]["preinstallations"][0]["name"] == RECORD
    assert await dialled == ["connected"]
