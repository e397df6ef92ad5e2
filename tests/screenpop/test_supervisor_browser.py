"""The supervisor page in headless Chromium: agents by name, supervisors not counted as agents,
accounts added later appear, and the table fits the narrow panel."""
from __future__ import annotations

import time

import pytest
from playwright.async_api import expect

from screenpop import agents
from screenpop.agents import AgentStateStore
from screenpop.operations.model import FAILED, Operation
from screenpop.operations.store import OperationStore
from tests.screenpop.conftest import Node, call
from tests.screenpop.test_browser import sign_in

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width,height", [(380, 800), (1440, 900)])
async def test_supervisor_sees_every_agent_by_name_and_no_supervisors(
        browser, config, redis, keys, index, users, telephony, shots, width, height):
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"], "Ana Torres")
    await users.add("luis", "secreto-123", "agent", ["PJSIP/6002"],
                    "Luis Fernando Ramírez Villaseñor")
    await users.add("sofia", "secreto-123", "supervisor", [], "Sofía Ruiz")
    node = await Node(config, redis, index).start()
    try:
        agent = await (await browser.new_context()).new_page()
        await sign_in(agent, node, "ana")
        boss = await (await browser.new_context(
            viewport={"width": width, "height": height})).new_page()
        await sign_in(boss, node, "sofia")
        await boss.goto(f"{node.url}/supervisor")
        await expect(boss.locator("#conn")).to_have_attribute("data-conn", "on")

        rows = boss.locator("#agents tr")
        await expect(rows).to_have_count(2)
        await expect(boss.locator('tr[data-agent="ana"] .agent-display')).to_have_text("Ana Torres")
        await expect(boss.locator('tr[data-agent="ana"]')).to_have_attribute("data-state", "available")
        await expect(boss.locator('tr[data-agent="luis"] .agent-display')).to_have_text(
            "Luis Fernando Ramírez Villaseñor")
        await expect(boss.locator('tr[data-agent="luis"] .pill')).to_have_text("Sin sesión")
        await expect(boss.locator('tr[data-agent="sofia"]')).to_have_count(0)
        await expect(boss.locator("#summary")).to_have_text("Disponible: 1 · Sin sesión: 1")

        # A call, and an account added while the page is open.
        await telephony.publish(call("c1", {"PJSIP/6001": "answered"}))
        await expect(boss.locator('tr[data-agent="ana"]')).to_have_attribute("data-state", "in_call")
        if width >= 720:
            await expect(boss.locator('tr[data-agent="ana"] .agent-call')).to_have_text(
                "+52 55 1234 5678")
        await users.add("rita", "secreto-123", "agent", ["PJSIP/6003"], "Rita Mendoza")
        rita = await (await browser.new_context()).new_page()
        await sign_in(rita, node, "rita")
        await expect(boss.locator('tr[data-agent="rita"] .agent-display')).to_have_text(
            "Rita Mendoza")
        await expect(boss.locator("#summary")).to_have_text(
            "Disponible: 1 · En llamada: 1 · Sin sesión: 1")

        # Signing out shows at once; an account removed leaves the table once its session ends
        # (the state store publishes the sign-out as the server does).
        await rita.click(".logout button")
        await rita.wait_for_url("**/login")
        await expect(boss.locator('tr[data-agent="rita"] .pill')).to_have_text("Sin sesión")
        await users.add("rita", "secreto-123", "agent", ["PJSIP/6003"], "Rita Mendoza")
        await sign_in(rita, node, "rita")
        await expect(boss.locator('tr[data-agent="rita"] .pill')).to_have_text("Disponible")
        await users.remove("rita")
        await AgentStateStore(redis, keys).update(
            "rita", lambda state: agents.signed_out(state, time.time()))
        await expect(boss.locator('tr[data-agent="rita"]')).to_have_count(0)
        await expect(boss.locator("#summary")).to_have_text("En llamada: 1 · Sin sesión: 1")

        fit = await boss.evaluate("""() => ({page: document.documentElement.scrollWidth,
            table: document.querySelector('table.agents').getBoundingClientRect().right})""")
        assert fit["page"] <= width and fit["table"] <= width, fit
        await boss.screenshot(path=str(shots / f"supervisor-{width}.png"))
    finally:
        await node.stop()


async def test_supervisor_sees_the_wisphub_writes_that_need_a_person(
        browser, config, redis, keys, index, users, shots):
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"], "Ana Torres")
    await users.add("sofia", "secreto-123", "supervisor", [], "Sofía Ruiz")
    store = OperationStore(redis, keys)
    now = time.time()
    op, _ = await store.create(Operation(
        call_id="c1", op_id="activation", kind="activation", label="Activación", params={},
        by="ana", state=FAILED, created_at=now, updated_at=now, needs_person=True,
        reason="WispHub no confirmó la activación después de 5 revisiones."))
    await store.flag(op.call_id, op.op_id, now)
    node = await Node(config, redis, index).start()
    try:
        boss = await (await browser.new_context(viewport={"width": 380, "height": 800})).new_page()
        await sign_in(boss, node, "sofia")
        await boss.goto(f"{node.url}/supervisor")
        section = boss.locator("#attention")
        await expect(section).to_be_visible()
        await expect(section.locator("h2")).to_have_text("Necesitan revisión (1)")
        await expect(section.locator(".attention-item")).to_have_text(
            "Ana Torres · Activación: WispHub no confirmó la activación después de 5 revisiones."
            " · hace un momento")
        fit = await boss.evaluate("() => document.documentElement.scrollWidth")
        assert fit <= 380, fit
        await boss.screenshot(path=str(shots / "supervisor-attention-380.png"))
    finally:
        await node.stop()
