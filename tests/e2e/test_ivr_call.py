"""An IVR call: the simulator runs the dialplan's FastAGI look-up against telephony's server (which
reads the index synced into Redis), and the pop shows what the caller did in the IVR."""
from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.e2e.test_call_to_pop import pops_until, signed_in
from tests.screenpop.test_browser import sign_in

IVR_CALL = dict(customer="5215512345678", name="Juan Perez", agents=["PJSIP/6001", "PJSIP/6002"],
                answered_by="PJSIP/6001", hold_at="answered", speed=0.0)


async def test_the_pop_carries_the_ivr_path_times_and_the_lookups_record(stack, agents):
    _, ana = await signed_in(agents, stack, "agente1")
    call = await stack.simulator.start_call("inbound_ivr", **IVR_CALL)

    ringing = (await pops_until(ana, call.call_id, "ringing"))[-1]
    record = ringing["match"]["preinstallations"][0]
    assert record["name"] == "Juan Pérez López"
    ivr = ringing["ivr"]
    assert ivr["path"] == "1"
    assert ivr["steps"] == [{"key": "1", "short": "Contratar",
                             "label": "Contratar / seguimiento de instalación"}]
    assert ivr["lookup_match"] == "one"
    assert ivr["lookup_preinstallation_id"] == record["id"]
    assert ringing["started_at"] - 5 <= ivr["started_at"] <= ivr["queue_entered_at"]
    await call.release()
    await pops_until(ana, call.call_id, "ended")


async def test_a_queue_call_that_skipped_the_ivr_has_no_ivr_object(stack, agents):
    _, ana = await signed_in(agents, stack, "agente1")
    call = await stack.simulator.start_call("inbound_direct", customer="+525598765432",
                                            agents=["PJSIP/6001"], speed=0.0)
    assert (await pops_until(ana, call.call_id, "ringing"))[-1]["ivr"] is None


@pytest.mark.browser
async def test_the_agent_sees_the_ivr_line_and_the_matched_record_in_chromium(stack, browser):
    page = await browser.new_page(viewport={"width": 380, "height": 800})
    await sign_in(page, stack.node, "agente1")
    await stack.simulator.start_call("inbound_ivr", **IVR_CALL)
    card = page.locator("article.call:not([hidden])")
    await expect(card.locator(".record-name")).to_have_text("Juan Pérez López")
    line = card.locator(".callbar .ivr-path")
    await expect(line).to_have_text(
        re.compile(r"^IVR: 1 Contratar · \d\d:\d\d en IVR · \d\d:\d\d en cola$"))
    await expect(line).to_have_attribute(
        "title", re.compile(r"^1: Contratar / seguimiento de instalación\. El IVR identificó la "
                            r"preinstalación \S+$"))
    box = await line.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 380
    assert box["height"] < 30  # one line, not wrapped
