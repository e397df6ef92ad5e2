"""The guided call, never-miss-a-pop alerts and agent states in headless Chromium."""
from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import expect

from screenpop.agents import AgentSettings
from screenpop.script.progress import CallProgressStore
from tests.screenpop.conftest import Node, call, record
from tests.screenpop.test_browser import sign_in

pytestmark = pytest.mark.browser

# Records every Notification the page constructs (the browser's own class still does the work).
RECORD_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  if (!Real) return;
  window.__notes = [];
  class Recorded extends Real {
    constructor(title, options) {
      super(title, options);
      window.__notes.push({ title, tag: options && options.tag, body: options && options.body, note: this });
    }
  }
  window.Notification = Recorded;
})();
"""
# Lets a test hide the page as a background tab would be (headless pages are always visible).
HIDEABLE = """
(() => {
  let hidden = false;
  Object.defineProperty(Document.prototype, "visibilityState", { get: () => (hidden ? "hidden" : "visible") });
  Object.defineProperty(Document.prototype, "hidden", { get: () => hidden });
  window.__setHidden = (value) => { hidden = value; document.dispatchEvent(new Event("visibilitychange")); };
})();
"""


# The option labels of the shown step's selects that a closed select cannot show in full (the
# text is measured in the select's font against its inner width, less the arrow).
CUT_OPTIONS = """() => {
  const ctx = document.createElement("canvas").getContext("2d");
  return [...document.querySelectorAll("article.call:not([hidden]) select.field-input")]
    .flatMap((select) => {
      const style = getComputedStyle(select);
      ctx.font = style.font;
      const room = select.clientWidth - parseFloat(style.paddingLeft)
        - parseFloat(style.paddingRight) - 20;
      return [...select.options].filter((o) => ctx.measureText(o.text).width > room)
        .map((o) => o.text);
    });
}"""


async def poll(page, script: str, expected, timeout: float = 5.0) -> None:
    """Evaluate `script` in the page until it returns `expected` (or fail at the deadline)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (value := await page.evaluate(script)) != expected:
        assert asyncio.get_running_loop().time() < deadline, f"{script} → {value!r}"
        await asyncio.sleep(0.05)


async def tab_to(page, selector: str, limit: int = 60) -> None:
    """Press Tab until the focused element matches `selector` (keyboard only)."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate("s => document.activeElement && document.activeElement.matches(s)",
                               selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


async def choose(page, key: str, option_text: str) -> None:
    """Focus a select (or a radio group, for long labels) with Tab and move through its options
    with the arrow keys."""
    radios = await page.locator(f'article.call:not([hidden]) input[type=radio][data-key="{key}"]').count()
    await tab_to(page, f'input[type=radio][data-key="{key}"]' if radios else f'select[data-key="{key}"]')
    for _ in range(12):
        label = await page.evaluate("() => document.activeElement.type === 'radio'"
                                    " ? document.activeElement.parentElement.textContent"
                                    " : document.activeElement.selectedOptions[0].textContent")
        if option_text in label:
            await page.keyboard.press("Space" if radios else "Enter")
            return
        await page.keyboard.press("ArrowDown")
    raise AssertionError(f"no option {option_text!r} in {key}")


JUAN = dict(email="juan@example.com", address="Av. Juárez 120, Col. Centro", zone="Norte",
            missing=("dni_front", "dni_back", "proof_of_address", "extra_phone"))


async def context(browser, **extra):
    ctx = await browser.new_context(permissions=["notifications"], **extra)
    await ctx.add_init_script(RECORD_NOTIFICATIONS)
    await ctx.add_init_script(HIDEABLE)
    return ctx


async def test_full_guided_call_with_the_keyboard_resumes_after_a_reload(
        browser, config, redis, index, users, telephony, shots):
    await index.replace_all([record("101", "Juan Pérez", ["+525512345678"], **JUAN)], source="test")
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"], "Ana Torres")
    node = await Node(config, redis, index).start()
    try:
        page = await (await context(browser, viewport={"width": 1440, "height": 900})).new_page()
        await sign_in(page, node, "ana")
        await telephony.publish(call("c1", {"PJSIP/6001": "ringing"}, number="5512345678"))
        card = page.locator("article.call:not([hidden])")
        title, say = card.locator(".step-title"), card.locator(".say")
        await expect(title).to_have_text("Paso 1 de 10 · Saludo")
        await expect(say).to_contain_text("Red Veloz Internet")
        await expect(say).to_contain_text("Le atiende Ana Torres")
        await expect(say).to_contain_text("¿Tengo el gusto con Juan Pérez?")
        await expect(card).to_have_attribute("data-alerting", "true")
        await page.keyboard.press("Enter")  # "Enterado"
        await expect(card).to_have_attribute("data-alerting", "false")
        await telephony.publish(call("c1", {"PJSIP/6001": "answered"}, number="5512345678", seq=2))
        await expect(card.locator("[data-f=state]")).to_have_text("EN LLAMADA")
        await expect(page.locator("#agent-state")).to_have_attribute("data-state", "in_call")

        await page.keyboard.press("ArrowRight")
        await expect(title).to_have_text("Paso 2 de 10 · Cobertura")
        await expect(card.locator('.field[data-key="address"] .field-status')).to_have_text("en WispHub")
        await page.keyboard.press("ArrowRight")
        await expect(title).to_have_text("Paso 3 de 10 · Costos y planes")
        await expect(card.locator(".lock-reason")).to_contain_text("confirmar la cobertura")
        await expect(card.locator('input[data-key="usage_profile"]').first).to_be_disabled()
        await page.keyboard.press("Alt+ArrowLeft")
        await expect(title).to_have_text("Paso 2 de 10 · Cobertura")

        await tab_to(page, 'input[data-key="location_url"]')
        await page.keyboard.type("https://maps.app.goo.gl/abc123")
        await page.keyboard.press("Enter")
        await choose(page, "zone", "Centro")
        await choose(page, "coverage", "Sí")
        await choose(page, "technology", "Inalámbrico")
        await choose(page, "wants_to_continue", "Sí")
        await expect(say).to_contain_text("Sí tenemos cobertura en Centro")
        await page.keyboard.press("Escape")
        await page.keyboard.press("ArrowRight")
        await expect(title).to_have_text("Paso 3 de 10 · Costos y planes")
        await expect(card.locator(".lock-reason")).to_be_hidden()
        await choose(page, "usage_profile", "Intermedio")
        await expect(say).to_contain_text("le recomiendo el plan Intermedio Inalámbrico")
        await choose(page, "plan_id", "Intermedio Inalámbrico")
        await tab_to(page, 'input[type=checkbox][value="telefonia"]')
        await page.keyboard.press("Space")
        await page.keyboard.press("Escape")
        await page.keyboard.press("1")  # objection "Precio"
        await expect(card.locator(".objection-answer")).to_contain_text("Entiendo su preocupación")
        await expect(card.locator('.objection[data-id="precio"]')).to_have_attribute("aria-pressed", "true")
        await page.keyboard.press("ArrowRight")
        await expect(title).to_have_text("Paso 4 de 10 · Contrato")
        await choose(page, "contract", "12 meses")
        await expect(say).to_contain_text("no es posible cancelar antes")
        await page.screenshot(path=str(shots / "guided-contract-1440.png"))

        # Reload mid-call: same step, same answers.
        await page.reload()
        await expect(title).to_have_text("Paso 4 de 10 · Contrato")
        await expect(card.locator('select[data-key="contract"]')).to_have_value("12m")
        await page.keyboard.press("ArrowLeft")
        await page.keyboard.press("ArrowLeft")
        await expect(title).to_have_text("Paso 2 de 10 · Cobertura")
        await expect(card.locator('input[data-key="location_url"]')).to_have_value(
            "https://maps.app.goo.gl/abc123")
        await expect(card.locator('input[data-key="zone"][value="centro"]')).to_be_checked()
        for _ in range(6):
            await page.keyboard.press("ArrowRight")
        await expect(title).to_have_text("Paso 8 de 10 · Depósito y totales")
        # 12 months: installation 1,200 + deposit 800 + first month (450 + 99.50)
        await expect(card.locator("[data-f=due-today]")).to_have_text("Paga hoy: $2,549.50 MXN")
        await page.keyboard.press("ArrowRight")
        await page.keyboard.press("ArrowRight")
        await expect(title).to_have_text("Paso 10 de 10 · Cierre")
        await expect(say).to_contain_text("plan Intermedio Inalámbrico")
        await expect(say).to_contain_text("El total a pagar es de $2,549.50 MXN")
        await expect(say).to_contain_text("le atendió Ana Torres")
        await page.screenshot(path=str(shots / "guided-close-1440.png"))
        await page.set_viewport_size({"width": 380, "height": 800})
        await page.screenshot(path=str(shots / "guided-close-380.png"), full_page=True)

        await telephony.publish(call("c1", {"PJSIP/6001": "ended"}, state="ended", seq=3))
        await expect(page.locator("#agent-state")).to_have_attribute("data-state", "wrap_up")
        await page.keyboard.press("Escape")
        await expect(page.locator("#idle")).to_be_visible()
    finally:
        await node.stop()


async def test_hidden_tab_notifies_and_two_tabs_silence_each_other(
        browser, config, redis, index, users, telephony, shots):
    await index.replace_all([record("101", "Juan Pérez", ["+525512345678"], **JUAN)], source="test")
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"], "Ana Torres")
    node = await Node(config, redis, index).start()
    try:
        ctx = await context(browser, viewport={"width": 1440, "height": 900})
        front = await ctx.new_page()
        await sign_in(front, node, "ana")
        back = await ctx.new_page()
        await back.goto(f"{node.url}/")
        await expect(back.locator("#conn")).to_have_attribute("data-conn", "on")
        await back.evaluate("window.__setHidden(true)")

        await telephony.publish(call("c1", {"PJSIP/6001": "ringing"}, number="5512345678"))
        for page in (front, back):
            await expect(page.locator("article.call")).to_have_count(1)
            await expect(page.locator("article.call")).to_have_attribute("data-alerting", "true")
        await poll(back, "window.__notes.map(n => [n.title, n.tag])", [["Llamada: Juan Pérez", "c1"]])
        assert await front.evaluate("window.__notes.length") == 0
        await expect(back.locator("html")).to_have_attribute("data-ringing", "on")
        await front.screenshot(path=str(shots / "alerting-1440.png"))

        # Acknowledged in the visible tab: the hidden one stops alerting and ringing.
        await front.keyboard.press("Enter")
        await expect(back.locator("article.call")).to_have_attribute("data-alerting", "false")
        await expect(back.locator("html")).to_have_attribute("data-ringing", "off")

        # A second call; answering it silences both tabs.
        await telephony.publish(call("c2", {"PJSIP/6001": "ringing"}, number="anonymous"))
        for page in (front, back):
            await expect(page.locator('article.call[data-call-id="c2"]')).to_have_attribute(
                "data-alerting", "true")
        await poll(back, "window.__notes.map(n => n.tag)", ["c1", "c2"])
        await telephony.publish(call("c2", {"PJSIP/6001": "answered"}, number="anonymous", seq=2))
        for page in (front, back):
            await expect(page.locator('article.call[data-call-id="c2"]')).to_have_attribute(
                "data-alerting", "false")

        # Clicking the notification focuses the pop and marks it seen.
        await telephony.publish(call("c3", {"PJSIP/6001": "ringing"}, number="5599990000"))
        await poll(back, "window.__notes.length", 3)
        await back.evaluate("window.__notes[2].note.onclick()")
        await expect(back.locator('article.call[data-call-id="c3"]')).to_be_visible()
        await expect(front.locator('article.call[data-call-id="c3"]')).to_have_attribute(
            "data-alerting", "false")
    finally:
        await node.stop()


async def test_html_in_a_config_text_and_customer_name_is_shown_as_text(
        browser, config, redis, index, users, telephony, tmp_path):
    from screenpop.script.provider import default_provider_config_path, load_provider_config
    hostile_provider = '<img src=x onerror="alert(1)">Red'
    text = default_provider_config_path().read_text(encoding="utf-8").replace(
        'name = "Red Veloz Internet"', f"name = '{hostile_provider}'", 1)
    (tmp_path / "p.toml").write_text(text, encoding="utf-8")
    provider = load_provider_config(tmp_path / "p.toml")
    hostile_name = "<script>alert(2)</script>Pedro"
    await index.replace_all([record("666", hostile_name, ["+525599998888"])], source="test")
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"])
    node = await Node(config, redis, index, provider=provider).start()
    try:
        page = await (await context(browser)).new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))
        await sign_in(page, node, "ana")
        await telephony.publish(call("x1", {"PJSIP/6001": "ringing"}, number="5599998888"))
        say = page.locator("article.call:not([hidden]) .say")
        await expect(say).to_contain_text(hostile_provider)
        await expect(say).to_contain_text(hostile_name)
        assert await page.locator("article.call img, article.call script").count() == 0
        await page.keyboard.press("1")  # an objection answer that names the provider
        await expect(page.locator("article.call:not([hidden]) .objection-answer")).to_contain_text(
            hostile_provider)
        assert await page.locator("article.call img, article.call script").count() == 0
        await telephony.publish(call("x2", {"PJSIP/6001": "ringing"}, number="anonymous"))
        await expect(page.locator("#tabs .tab")).to_have_count(2)
        assert dialogs == []
    finally:
        await node.stop()


async def test_agent_state_changes_show_live_on_the_supervisor_page(
        browser, config, redis, index, users, telephony, shots):
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"], "Ana Torres")
    await users.add("sofia", "secreto-123", "supervisor", [], "Sofía Ruiz")
    node = await Node(config, redis, index,
                      agent_settings=AgentSettings(ack_deadline=30, wrapup_max=60,
                                                   pause_reasons=("Comida", "Baño"))).start()
    try:
        agent = await (await context(browser)).new_page()
        await sign_in(agent, node, "ana")
        boss = await (await context(browser, viewport={"width": 1440, "height": 900})).new_page()
        await sign_in(boss, node, "sofia")
        await boss.goto(f"{node.url}/supervisor")
        row = boss.locator('tr[data-agent="ana"]')
        await expect(row).to_have_attribute("data-state", "available")

        await agent.focus("#state-select")
        await agent.keyboard.press("ArrowDown")  # Pausa · Comida
        await expect(row).to_have_attribute("data-state", "paused")
        await expect(row.locator(".agent-state")).to_have_text("En pausa · Comida")

        await telephony.publish(call("c1", {"PJSIP/6001": "answered"}))
        await expect(row).to_have_attribute("data-state", "in_call")
        await expect(row.locator(".agent-call")).to_have_text("+52 55 1234 5678")
        await expect(agent.locator("#state-select")).to_be_disabled()
        await telephony.publish(call("c1", {"PJSIP/6001": "ended"}, state="ended", seq=2))
        await expect(row).to_have_attribute("data-state", "wrap_up")
        await expect(agent.locator("#wrap-left")).to_have_text(re.compile(r"cierre 0[01]:\d\d"))
        await boss.screenshot(path=str(shots / "supervisor-1440.png"))
        await agent.click("#finish-wrap")
        await expect(row).to_have_attribute("data-state", "available")
    finally:
        await node.stop()


async def test_linking_refreshes_the_script_in_every_tab_and_totals_add_up(
        browser, config, redis, keys, index, users, telephony, shots):
    await index.replace_all([
        record("201", "María López", ["+525511112222"]),
        record("202", "José López", ["+525511112222"], address="Calle 3", zone="ZONA NORTE"),
    ], source="test")
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"], "Ana Torres")
    node = await Node(config, redis, index).start()
    try:
        ctx = await context(browser, viewport={"width": 380, "height": 800})
        first = await ctx.new_page()
        await sign_in(first, node, "ana")
        second = await ctx.new_page()
        await second.goto(f"{node.url}/")
        await expect(second.locator("#conn")).to_have_attribute("data-conn", "on")
        await telephony.publish(call("fam", {"PJSIP/6001": "answered"}, number="5511112222"))
        hints = [page.locator("article.call:not([hidden]) .hints") for page in (first, second)]
        says = [page.locator("article.call:not([hidden]) .say") for page in (first, second)]
        for hint in hints:
            await expect(hint).to_contain_text("sin preinstalación vinculada")

        await first.locator("article.call:not([hidden]) .link-record").nth(1).click()
        for say, hint in zip(says, hints):
            await expect(say).to_contain_text("¿Tengo el gusto con José López?")
            await expect(hint).not_to_contain_text("sin preinstalación vinculada")
        await expect(second.locator("article.call:not([hidden]) [data-f=place]")).to_have_text(
            "Calle 3 · ZONA NORTE")

        # open-ended contract: the lines shown add up to what is paid today
        await CallProgressStore(redis, keys).save("fam", step="deposito", by="ana", answers={
            "coverage": True, "wants_to_continue": True, "technology": "wireless",
            "plan_id": "inalambrico-20", "contract": "open"})
        await first.reload()
        card = first.locator("article.call:not([hidden])")
        await expect(card.locator(".step-title")).to_have_text("Paso 8 de 10 · Depósito y totales")
        await expect(card.locator("[data-f=due-today]")).to_have_text("Paga hoy: $1,650.00 MXN")
        amounts = await card.locator(".quote dd:not(.part)").all_text_contents()
        assert amounts == ["$1,200.00 MXN", "$450.00 MXN"]
        assert sum(float(a.strip("$ MXN").replace(",", "")) for a in amounts) == 1650.0
        await expect(card.locator(".quote dt.part")).to_have_text(
            "↳ incluye garantía (se retiene si cancela)")
        await expect(card.locator(".quote dd.part")).to_have_text("$800.00 MXN")
        await first.screenshot(path=str(shots / "totals-open-380.png"), full_page=True)

        # no option label is cut in the steps' selects, at 380 px and at 1440 px
        for width in (380, 1440):
            await first.set_viewport_size({"width": width, "height": 900})
            for step in ("cobertura", "planes", "contrato"):
                await card.locator(".step-chip", has_text={"cobertura": "Cobertura",
                                                           "planes": "Costos y planes",
                                                           "contrato": "Contrato"}[step]).click()
                cut = await first.evaluate(CUT_OPTIONS)
                if step == "planes":
                    await first.screenshot(path=str(shots / f"plans-{width}.png"), full_page=True)
                assert cut == [], (width, step, cut)
    finally:
        await node.stop()
