"""Which pops ring: the recorded Asterisk 20 traces, replayed through the call tracker, turned into
pops. Only a call the agent dialled from their own phone is `placed_by_agent` (no ring alert)."""
from __future__ import annotations

import pytest

from common.envelope import CallUpdate
from screenpop.pops import agent_leg
from screenpop.push.protocol import pop as build_pop
from tests.telephony.replay import TRACES, feed_all, messages, tracker

LOCAL, SIP = ("Local/*@agents",), ("SIP/600*",)


def pops_of(trace, patterns, endpoint):
    """The pops the agent at `endpoint` would get while the trace plays, as (state, placed)."""
    shown = []
    for update in feed_all(tracker(*patterns), messages(trace)):
        leg = agent_leg(update, [endpoint])
        if leg is not None:
            pop = build_pop(update, *leg, {"status": "none", "preinstallations": []})
            shown.append((pop["direction"], pop["state"], pop["placed_by_agent"]))
    return shown


def test_the_agents_own_softphone_dialling_out_does_not_ring():
    shown = pops_of(TRACES / "sip-agent-outbound.txt", SIP, "SIP/6001")
    assert shown[0] == ("outbound", "ringing", True)
    assert {placed for _, _, placed in shown} == {True}


@pytest.mark.parametrize("trace,patterns,endpoint", [
    (TRACES / "sip-dialer-agent-first.txt", SIP, "SIP/6001"),  # campaign Originate, agent first
    (TRACES / "local-outbound-predictive.txt", LOCAL, "Local/6001@agents"),  # customer first, queue
    (TRACES / "sip-trunk-inbound-queue.txt", SIP, "SIP/6001"),
    (TRACES / "sip-inbound-direct.txt", SIP, "SIP/6001"),
])
def test_calls_the_agent_did_not_dial_ring_as_before(trace, patterns, endpoint):
    shown = pops_of(trace, patterns, endpoint)
    assert any(state == "ringing" for _, state, _ in shown)
    assert {placed for _, _, placed in shown} == {False}


def test_an_outbound_call_handed_to_another_agent_rings_the_new_agent():
    handed = CallUpdate(call_id="c1", direction="outbound", state="ringing",
                        customer_number="5512345678",
                        agents={"SIP/6001": "transferred", "SIP/6002": "ringing"})
    assert build_pop(handed, "SIP/6002", "ringing", {})["placed_by_agent"] is False


def test_an_originate_ringing_the_agent_before_it_dials_rings_even_without_dialer_variables():
    # Asterisk may report the dialer's channel variables only on later events.
    originate = CallUpdate(call_id="c1", direction="outbound", state="ringing",
                           customer_number=None, agents={"SIP/6001": "ringing"})
    assert build_pop(originate, "SIP/6001", "ringing", {})["placed_by_agent"] is False
