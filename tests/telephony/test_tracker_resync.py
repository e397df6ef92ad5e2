"""resync(): rebuilding the picture from a CoreShowChannels answer after a (re)connect."""
from __future__ import annotations

import pytest

from common.envelope import CallUpdate
from telephony.tracker import ended_while_away
from tests.telephony.replay import (
    TRACES,
    core_show_channels,
    feed_all,
    messages,
    simulated_answer,
    summary,
    tracker,
)

RECONNECT_CALL = "1795497245.70"


def test_a_fresh_tracker_sees_the_live_call_with_the_listener_call_id():
    listener_ids = {u.call_id for u in feed_all(tracker("SIP/600*"),
                                                 messages(TRACES / "reconnect.listener.txt"))}
    t = tracker("SIP/600*")
    updates = t.resync(core_show_channels(messages(TRACES / "reconnect.txt")))
    assert listener_ids == {RECONNECT_CALL}
    assert summary(updates) == [
        (RECONNECT_CALL, "answered", "inbound", "5215512345678", {"SIP/6001": "answered"})]
    assert updates[0].queue == "ventas"
    assert summary(t.live_calls()) == summary(updates)


def test_resync_after_the_call_ended_reports_it_ended():
    t = tracker("SIP/600*")
    t.resync(core_show_channels(messages(TRACES / "reconnect.txt")))
    updates = t.resync([])
    assert summary(updates) == [
        (RECONNECT_CALL, "ended", "inbound", "5215512345678", {"SIP/6001": "ended"})]
    assert t.live_calls() == []


def test_half_a_trace_then_resync_keeps_the_call_id_and_sequence():
    events = messages(TRACES / "local-inbound-queue.txt")
    cut = next(i for i, e in enumerate(events) if e.get("Event") == "CoreShowChannel")
    t = tracker("Local/*@agents")
    before = feed_all(t, events[:cut])
    updates = t.resync(core_show_channels(events))
    assert summary(updates) == [("1795495097.0", "answered", "inbound", "5215512345678",
                                 {"Local/6001@agents": "answered"})]
    assert updates[0].seq == before[-1].seq + 1
    assert updates[0].started_at == before[-1].started_at
    # the rest of the stream still ends that same call
    after = feed_all(t, events[cut:])
    assert [(u.call_id, u.state) for u in after][-1] == ("1795495097.0", "ended")


def test_resync_reports_a_call_that_ended_while_disconnected_and_keeps_the_live_one():
    t = tracker("Local/*@agents")
    outbound = messages(TRACES / "local-outbound-originate-dial.txt")
    inbound = messages(TRACES / "local-inbound-queue.txt")
    cut = next(i for i, e in enumerate(outbound) if e.get("Event") == "CoreShowChannel")
    feed_all(t, outbound[:cut])
    updates = t.resync(core_show_channels(inbound))
    assert sorted((u.call_id, u.state) for u in updates) == [
        ("1795495097.0", "answered"), ("1795495162.6", "ended")]


def test_resync_of_an_agent_first_originate_is_outbound():
    t = tracker("Local/*@agents")
    events = messages(TRACES / "local-outbound-originate-dial.txt")
    updates = t.resync(core_show_channels(events))
    assert summary(updates) == [("1795495162.6", "answered", "outbound", "5512345678",
                                 {"Local/6001@agents": "answered"})]


def test_resync_twice_resends_the_live_calls():
    t = tracker("SIP/600*")
    channels = core_show_channels(messages(TRACES / "reconnect.txt"))
    first = t.resync(channels)
    second = t.resync(channels)
    assert summary(second) == summary(first)
    assert second[0].seq == first[0].seq + 1


def test_resync_ignores_entries_without_ids():
    t = tracker("SIP/600*")
    assert t.resync([{"Event": "CoreShowChannel"}, {"Channel": "SIP/6001-00000001"}]) == []


def bridged_at(trace) -> float:
    """Just after the customer and the agent are bridged in a recorded call."""
    return next(float(e["Timestamp"]) for e in messages(trace)
                if e.get("Event") == "BridgeEnter" and e.get("BridgeNumChannels") == "2") + 0.01


@pytest.mark.parametrize(("trace", "number", "root_shows"), [
    ("sip-inbound-direct.txt", "+525598765432", "6001"),  # what the old rebuild published
    ("ivr-menu.txt", "5215587654321", "5215587654321"),
    ("reconnect.listener.txt", "5215512345678", "5215512345678"),
])
def test_resync_mid_call_keeps_the_caller_number_not_the_agent_extension(trace, number, root_shows):
    """A caller Asterisk originated as a Local pair: its `;1` root may show the agent's `6001`
    as caller ID (recorded NewCallerid: at the ring of a direct call, at the end of a queue
    call); the `;2` half keeps the caller's. The answer is what CoreShowChannels gives at that moment (the simulator's
    snapshot, checked field by field against Asterisk in tests/simulator/test_snapshot.py)."""
    path = TRACES / trace
    live = feed_all(tracker("SIP/600*"), messages(path))
    assert {u.customer_number for u in live} == {number}
    snapshot = simulated_answer(path, bridged_at(path))
    root = next(s for s in snapshot if s["Uniqueid"] == s["Linkedid"] and s["Channel"].endswith(";1"))
    updates = tracker("SIP/600*").resync(core_show_channels(snapshot))
    assert [(u.call_id, u.state, u.customer_number) for u in updates] == [
        (live[0].call_id, "answered", number)]
    assert root["CallerIDNum"] == root_shows


def test_a_call_gone_while_away_ends_each_leg_as_a_hang_up_would():
    ringing = CallUpdate(call_id="1.1", direction="inbound", state="ringing",
                         customer_number="5512345678",
                         agents={"PJSIP/6001": "ringing", "PJSIP/6002": "missed"}, seq=41)
    answered = CallUpdate(call_id="1.2", direction="inbound", state="answered",
                          customer_number="5512345678",
                          agents={"PJSIP/6001": "answered", "PJSIP/6002": "ringing"}, seq=7)
    assert ended_while_away(ringing, 99.0) == CallUpdate(
        call_id="1.1", direction="inbound", state="ended", customer_number="5512345678",
        agents={"PJSIP/6001": "missed", "PJSIP/6002": "missed"}, event_at=99.0, seq=42)
    assert ended_while_away(answered, 99.0).agents == {"PJSIP/6001": "ended",
                                                       "PJSIP/6002": "answered_elsewhere"}
