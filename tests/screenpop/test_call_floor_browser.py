"""The agent's screen while calls come and go, in headless Chromium: the call in front stays in
front, tabs keep their order and Alt+N, ended calls fold into Recientes; the narrow side panel
keeps the line to say on screen; every WebSocket message type reaches the page."""
from __future__ import annotations

import json

import pytest
from playwright.async_api import expect

from tests.screenpop.conftest import Node, call, record
from tests.screenpop.test_browser import sign_in
from tests.screenpop.test_guided_browser import poll

pytestmark = pytest.mark.browser

JUAN = dict(email="juan@example.com", address="Av. Juárez 120, Col. Centro",
            zone="ZONA NORTE - CORTE 15",
            missing=("dni_front", "dni_back", "proof_of_address", "extra_phone"))
# What the agent captured by step 4: coverage, plan, add-on and contract (the later steps unlock).
CAPTURED = {"coverage": True, "wants_to_continue": True, "zone": "centro", "technology": "wireless",
            "usage_profile": "intermedio", "plan_id": "inalambrico-20", "addons": ["telefonia"],
            "contract": "12m"}
SHOWN = "article.call:not([hidden])"


async def tab_ids(page) -> list[str]:
    return await page.locator("#tab-strip .tab").evaluate_all(
        "tabs => tabs.map(t => t.dataset.callId + ' ' + t.querySelector('kbd').textContent)")


async def save_answers(page, call_id: str, answers: dict) -> None:
    """What the page's own fields post when the agent captures them."""
    status = await page.evaluate("""async ([callId, answers]) => {
        const csrf = document.querySelector('meta[name="csrf-token"]').content;
        const r = await fetch(`/api/calls/${callId}/progress`, {method: "POST",
            headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
            body: JSON.stringify({answers})});
        return r.status; }""", [call_id, answers])
    assert status == 200


async def in_view(page, selector: str) -> dict:
    """Where an element is against the viewport, with the page not scrolled."""
    return await page.evaluate("""(sel) => {
        const box = document.querySelector(sel).getBoundingClientRect();
        return {top: box.top, bottom: box.bottom, left: box.left, right: box.right,
                height: innerHeight, width: innerWidth, scrolled: scrollY,
                pageWidth: document.documentElement.scrollWidth}; }""", selector)


# Options of the shown call's choices whose label is wider than its closed select can show.
CUT_LABELS = """() => {
    const ctx = document.createElement("canvas").getContext("2d");
    return [...document.querySelectorAll('article.call:not([hidden]) select.field-input')]
      .flatMap((select) => {
        const style = getComputedStyle(select);
        ctx.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
        const arrow = 20;
        const room = select.clientWidth - parseFloat(style.paddingLeft)
          - parseFloat(style.paddingRight) - arrow;
        return [...select.options].filter((o) => ctx.measureText(o.textContent).width > room)
          .map((o) => `${select.dataset.key}: ${o.textContent}`);
      }); }"""


def assert_on_screen(box: dict, what: str) -> None:
    assert box["scrolled"] == 0, f"{what}: the page scrolled ({box})"
    assert 0 <= box["top"] < box["bottom"] <= box["height"], f"{what} is not on screen: {box}"
    assert 0 <= box["left"] < box["right"] <= box["width"], f"{what} is not on screen: {box}"


async def test_a_ringing_call_waits_in_its_tab_while_the_agent_talks(
        browser, config, redis, index, users, telephony, shots):
    await index.replace_all([record("101", "Juan Pérez", ["+525512345678"], **JUAN),
                             record("301", "Rosa Díaz", ["+525533334444"])], source="test")
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"], "Ana Torres")
    node = await Node(config, redis, index).start()
    try:
        page = await browser.new_page(viewport={"width": 1440, "height": 900})
        await sign_in(page, node, "ana")
        await telephony.publish(call("a", {"PJSIP/6001": "ringing"}, number="5512345678"))
        card = page.locator(SHOWN)
        title = card.locator(".step-title")
        await expect(title).to_have_text("Paso 1 de 10 · Saludo")
        await telephony.publish(call("a", {"PJSIP/6001": "answered"}, number="5512345678", seq=2))
        await save_answers(page, "a", CAPTURED)
        await expect(card.locator('.step-chip[data-status="locked"]')).to_have_count(0)
        for _ in range(5):
            await page.keyboard.press("ArrowRight")
        await expect(title).to_have_text("Paso 6 de 10 · Datos y documentos")
        half_typed = page.locator('article.call[data-call-id="a"] input[data-key="referral"]')
        await half_typed.fill("Por un vec")  # the agent is mid-sentence

        await telephony.publish(call("b", {"PJSIP/6001": "ringing"}, number="5533334444"))
        waiting = page.locator('#tab-strip .tab[data-call-id="b"]')
        await expect(waiting).to_have_attribute("data-alerting", "true")
        await expect(waiting.locator(".tab-state")).to_have_text("SONANDO")
        await expect(waiting.locator(".tab-who")).to_have_text("Rosa Díaz")
        await expect(card).to_have_attribute("data-call-id", "a")
        await expect(title).to_have_text("Paso 6 de 10 · Datos y documentos")
        await expect(half_typed).to_be_focused()
        await expect(half_typed).to_have_value("Por un vec")
        assert await tab_ids(page) == ["a Alt+1", "b Alt+2"]
        await page.screenshot(path=str(shots / "waiting-tab-1440.png"))

        await page.keyboard.press("Alt+2")
        await expect(card).to_have_attribute("data-call-id", "b")
        await expect(card.locator(".record-name")).to_have_text("Rosa Díaz")
        await expect(half_typed).not_to_be_focused()  # keys no longer go to the hidden call
        await expect(waiting).to_have_attribute("aria-pressed", "true")
        await expect(waiting).to_have_attribute("data-alerting", "false")  # switching to it = seen
        await page.keyboard.press("Alt+1")
        await expect(card).to_have_attribute("data-call-id", "a")
        await expect(title).to_have_text("Paso 6 de 10 · Datos y documentos")
        await expect(half_typed).to_have_value("Por un vec")

        # A ends while on screen: it stays there, in its tab, until the agent leaves it.
        await telephony.publish(call("a", {"PJSIP/6001": "ended"}, state="ended", seq=3))
        await expect(card.locator("[data-f=state]")).to_have_text("FINALIZADA")
        assert await tab_ids(page) == ["a Alt+1", "b Alt+2"]
        await page.keyboard.press("Alt+2")
        await expect(card).to_have_attribute("data-call-id", "b")
        await expect(page.locator("#tab-strip .tab")).to_have_count(1)
        assert await tab_ids(page) == ["b Alt+2"]  # B keeps its number
        await expect(page.locator("#recent summary")).to_have_text("Recientes (1)")

        # A third call takes the next number, after B; B stays in front.
        await telephony.publish(call("c", {"PJSIP/6001": "ringing"}, number="anonymous"))
        await expect(page.locator('#tab-strip .tab[data-call-id="c"]')).to_have_attribute(
            "data-alerting", "true")
        assert await tab_ids(page) == ["b Alt+2", "c Alt+3"]
        await expect(card).to_have_attribute("data-call-id", "b")
        await page.keyboard.press("Alt+1")  # nobody holds 1 any more
        await expect(card).to_have_attribute("data-call-id", "b")

        # Recientes opens the ended call again; Esc leaves it for the oldest live call.
        await page.click("#recent summary")
        await page.click('#recent-list .recent-call[data-call-id="a"]')
        await expect(card).to_have_attribute("data-call-id", "a")
        await expect(card.locator("[data-f=state]")).to_have_text("FINALIZADA")
        await page.screenshot(path=str(shots / "recent-1440.png"))
        await page.keyboard.press("Escape")
        await expect(card).to_have_attribute("data-call-id", "b")
        assert await tab_ids(page) == ["b Alt+2", "c Alt+3"]
    finally:
        await node.stop()


async def test_the_screen_comes_to_a_new_call_only_when_no_call_is_live_on_it(
        browser, config, redis, index, users, telephony):
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"], "Ana Torres")
    node = await Node(config, redis, index).start()
    try:
        page = await browser.new_page()
        await sign_in(page, node, "ana")
        await telephony.publish(call("a", {"PJSIP/6001": "answered"}, number="5512345678"))
        card = page.locator(SHOWN)
        await expect(card).to_have_attribute("data-call-id", "a")
        await telephony.publish(call("a", {"PJSIP/6001": "ended"}, state="ended", seq=2))
        await expect(card.locator("[data-f=state]")).to_have_text("FINALIZADA")
        # Nothing live in front: the next call comes to the front, the ended one folds away.
        await telephony.publish(call("b", {"PJSIP/6001": "ringing"}, number="5533334444"))
        await expect(card).to_have_attribute("data-call-id", "b")
        await expect(page.locator("#recent summary")).to_have_text("Recientes (1)")
        assert await tab_ids(page) == ["b Alt+2"]
    finally:
        await node.stop()


@pytest.mark.parametrize("width,height", [(380, 800), (1440, 900)])
async def test_the_line_to_say_is_on_screen_at_every_step(
        browser, config, redis, index, users, telephony, shots, width, height):
    await index.replace_all([record("101", "Juan Pérez", ["+525512345678"], **JUAN)], source="test")
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"], "Ana Torres")
    node = await Node(config, redis, index).start()
    try:
        page = await browser.new_page(viewport={"width": width, "height": height})
        await sign_in(page, node, "ana")
        await telephony.publish(call("a", {"PJSIP/6001": "answered"}, number="5512345678"))
        card = page.locator(SHOWN)
        title = card.locator(".step-title")
        await expect(title).to_have_text("Paso 1 de 10 · Saludo")
        await save_answers(page, "a", CAPTURED)
        await expect(card.locator('.step-chip[data-status="locked"]')).to_have_count(0)
        line = card.locator(".record-line")
        if width < 720:
            await expect(line).to_be_visible()
            await expect(line).to_have_text("Juan Pérez · FALTA 4 ▾")
            await expect(card.locator(".record-full")).to_be_hidden()
        else:
            await expect(line).to_be_hidden()
            await expect(card.locator(".record-full")).to_be_visible()
        for number in range(1, 11):
            await expect(title).to_contain_text(f"Paso {number} de 10 ·")
            await page.screenshot(path=str(shots / f"step{number:02d}-{width}.png"))
            assert_on_screen(await in_view(page, f"{SHOWN} .say"), f"step {number}: the line to say")
            assert_on_screen(await in_view(page, f'{SHOWN} .step-chip[data-status="current"]'),
                             f"step {number}: its chip in the step bar")
            if width >= 720:  # on the narrow panel the plans' long labels still get cut
                assert await page.evaluate(CUT_LABELS) == [], f"step {number}"
            await page.keyboard.press("ArrowRight")

        # The folded card opens on demand, and folds again.
        if width < 720:
            await line.click()
            await expect(card.locator(".record-full")).to_be_visible()
            await expect(card.locator(".facts")).to_contain_text("ZONA NORTE - CORTE 15")
            await expect(card.locator(".facts")).not_to_contain_text("Zona ZONA")
            await line.click()
            await expect(card.locator(".record-full")).to_be_hidden()

        # More calls than the panel is wide: the tab strip scrolls, the page does not.
        for i in range(2, 7):
            await telephony.publish(call(f"x{i}", {"PJSIP/6001": "ringing"},
                                         number=f"55000000{i:02d}"))
        await expect(page.locator("#tab-strip .tab")).to_have_count(6)
        strip = await page.evaluate("""() => { const s = document.getElementById('tab-strip');
            return {scroll: s.scrollWidth, client: s.clientWidth,
                    page: document.documentElement.scrollWidth}; }""")
        assert strip["page"] <= width, strip
        if width < 720:
            assert strip["scroll"] > strip["client"], strip
        # the newest ringing tab was brought into sight inside the strip
        newest = await in_view(page, '#tab-strip .tab[data-call-id="x6"]')
        assert newest["right"] <= width, newest
        await expect(card).to_have_attribute("data-call-id", "a")
        assert_on_screen(await in_view(page, f"{SHOWN} .say"), "the line to say with six tabs")
        await page.screenshot(path=str(shots / f"six-calls-{width}.png"))
    finally:
        await node.stop()


async def test_the_link_button_shows_its_shortcut_digit(browser, config, redis, index, users,
                                                        telephony):
    await index.replace_all([record("201", "María López", ["+525511112222"]),
                             record("202", "José López", ["+525511112222"])], source="test")
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"], "Ana Torres")
    node = await Node(config, redis, index).start()
    try:
        page = await browser.new_page(viewport={"width": 380, "height": 800})
        await sign_in(page, node, "ana")
        await telephony.publish(call("m", {"PJSIP/6001": "ringing"}, number="5511112222"))
        buttons = page.locator(f"{SHOWN} .choices .choice button")
        await expect(buttons).to_have_count(2)
        await expect(buttons.nth(0)).to_have_text("Vincular1")
        # The digit's colour against what is really behind it (the first opaque background up).
        contrast = await buttons.nth(0).locator("kbd").evaluate("""(kbd) => {
            const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
            const lum = ([r, g, b]) => { const f = (v) => { v /= 255;
                return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
                return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
            let node = kbd, bg = null;
            while (node && !bg) { const c = rgb(getComputedStyle(node).backgroundColor);
                if (c.length < 4 || c[3] > 0) bg = c; node = node.parentElement; }
            const [a, b] = [lum(rgb(getComputedStyle(kbd).color)), lum(bg || [255, 255, 255])];
            return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); }""")
        assert contrast >= 4.5, contrast
    finally:
        await node.stop()


# Records every message the page hands to the features beside app.js.
RECORD_MESSAGES = """
window.__messages = [];
document.addEventListener("screenpop:message", (e) => window.__messages.push(e.detail));
"""


async def test_every_message_type_reaches_the_page(browser, config, redis, index, users, keys,
                                                   telephony):
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"], "Ana Torres")
    node = await Node(config, redis, index).start()
    try:
        ctx = await browser.new_context()
        await ctx.add_init_script(RECORD_MESSAGES)
        page = await ctx.new_page()
        await sign_in(page, node, "ana")
        await telephony.publish(call("a", {"PJSIP/6001": "ringing"}, number="5512345678"))
        await expect(page.locator(SHOWN)).to_have_attribute("data-call-id", "a")
        operation = {"type": "operation", "version": 1, "call_id": "a", "op": "activation",
                     "kind": "activation", "label": "Activar preinstalación", "state": "done",
                     "state_label": "hecho", "reference": "Instalación 1001", "reason": None,
                     "hint": None, "task_id": None, "queued": False, "attempts": 1,
                     "next_try": None, "updated_at": 1.0, "retryable": False}
        await redis.publish(keys.agent_channel("ana"), json.dumps(operation))
        await poll(page, "window.__messages.filter(m => m.type === 'operation')"
                         ".map(m => m.reference)", ["Instalación 1001"])
        kinds = set(await page.evaluate("window.__messages.map(m => m.type)"))
        assert {"hello", "agent_state", "synced", "pop", "operation"} <= kinds
    finally:
        await node.stop()


async def test_a_server_speaking_another_protocol_version_asks_for_a_reload(
        browser, config, redis, index, users):
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"], "Ana Torres")
    node = await Node(config, redis, index).start()
    try:
        page = await browser.new_page()

        def relay(ws):
            server = ws.connect_to_server()

            def to_page(message):
                data = json.loads(message)
                if data.get("type") == "hello":
                    data["version"] = 2
                ws.send(json.dumps(data))

            server.on_message(to_page)
            ws.on_message(server.send)

        await page.route_web_socket("**/ws", relay)
        await page.goto(f"{node.url}/login")
        await page.fill("#username", "ana")
        await page.fill("#password", "secreto-123")
        await page.click("button[type=submit]")
        await expect(page.locator("#conn")).to_have_text(
            "el servidor se actualizó: recargue la página (F5)")
    finally:
        await node.stop()
