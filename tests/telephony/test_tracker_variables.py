"""Channel variables (`channelvars = CAMPAIGN_ID,PREINST_ID,SP_CALL`) from the recorded dialer
traces of Asterisk 20.20.1: one `ChanVariable:` header per variable, `DestChanVariable:` for the
second channel, empty on the Originate's Newchannel and valued from a later event."""
from __future__ import annotations

import re

import pytest

from telephony.ami.frames import REPEAT_SEPARATOR, values_of
from tests.telephony.replay import (
    TRACES,
    core_show_channels,
    feed_all,
    messages,
    simulated_answer,
    tracker,
)

DIALER = TRACES / "dialer"
# what a listener with the default AMI_EVENTS receives: no dialplan class (VarSet, Newexten)
DEFAULT_CLASSES = frozenset({"system", "call", "agent", "user"})
ANSWERED_DIALER_CALLS = ("agent-first", "customer-first", "amd-human", "mixmonitor",
                         "mixmonitor-stop")


def sent_variables(name: str) -> dict[str, str]:
    """The `Variable:` header of the Originate the recorder sent."""
    text = (DIALER / f"{name}.sent.txt").read_text()
    line = re.search(r"^Variable: (.*)$", text, re.MULTILINE).group(1)
    return dict(item.split("=", 1) for item in line.split(","))


def default_class_events(name: str) -> list[dict[str, str]]:
    return [e for e in messages(DIALER / f"{name}.txt")
            if set(e.get("Privilege", "").split(",")) & DEFAULT_CLASSES]


def test_a_recorded_event_keeps_every_repeated_chanvariable():
    dial = next(e for e in messages(DIALER / "agent-first.txt") if e.get("Event") == "DialBegin")
    assert dial["DestChanVariable"].split(REPEAT_SEPARATOR) == [
        "CAMPAIGN_ID=c7", "PREINST_ID=1001", "SP_CALL="]


@pytest.mark.parametrize("name", ANSWERED_DIALER_CALLS)
def test_every_update_of_a_dialer_call_carries_the_originate_variables(name):
    updates = feed_all(tracker("SIP/600*"), default_class_events(name))
    assert [u.state for u in updates][0] == "ringing" and updates[-1].state == "ended"
    assert all(u.variables == sent_variables(name) for u in updates)
    assert updates[0].direction == "outbound"


@pytest.mark.parametrize("name", ANSWERED_DIALER_CALLS)
def test_the_whole_stream_with_the_dialplan_class_gives_the_same_variables(name):
    updates = feed_all(tracker("SIP/600*"), messages(DIALER / f"{name}.txt"))
    assert updates and all(u.variables == sent_variables(name) for u in updates)


def test_the_empty_legs_of_a_customer_first_call_never_erase_the_values():
    events = default_class_events("customer-first")
    agent_connect = next(e for e in events if e.get("Event") == "AgentConnect")
    # the agent's leg is not the one the dialer originated: its variables stay empty
    assert "CAMPAIGN_ID=" in agent_connect["DestChanVariable"].split(REPEAT_SEPARATOR)
    updates = feed_all(tracker("SIP/600*"), events)
    assert {u.variables["PREINST_ID"] for u in updates} == {"1002"}


def test_a_value_that_arrives_after_the_first_update_republishes_the_call():
    events = default_class_events("agent-first")
    created = next(e for e in events if e.get("Event") == "Newchannel")
    dial = next(i for i, e in enumerate(events) if e.get("Event") == "DialBegin")
    # as if the Originate's VarSets came after the ring: the ringing leg's variables still empty
    early = dict(events[dial], DestChanVariable=created["ChanVariable"])
    t = tracker("SIP/600*")
    ringing = feed_all(t, [created, early])
    assert [(u.state, u.variables) for u in ringing] == [("ringing", {})]
    later = feed_all(t, [events[dial + 1]])  # Newstate Ringing, values filled in
    assert [(u.state, u.variables) for u in later] == [
        ("ringing", {"CAMPAIGN_ID": "c7", "PREINST_ID": "1001"})]
    assert later[0].seq > ringing[0].seq


def test_inbound_calls_without_dialer_variables_carry_none():
    updates = feed_all(tracker("SIP/600*"), default_class_events("queue-priority"))
    assert len({u.call_id for u in updates}) == 2
    assert all(u.variables == {} for u in updates)


@pytest.mark.parametrize(("name", "number"), [
    ("agent-first", "5215512345678"),  # the digits the agent's channel was originated to
    ("mixmonitor", "5215512345678"),
    ("amd-human", "5215500001111"),  # the Local customer's `;2` runs its number
    # the trunk leg shows only the dialer's own caller ID and `ventas`: the number is not in
    # CoreShowChannels (PREINST_ID still says which preinstallation the call is about)
    ("customer-first", None),
])
def test_resync_mid_call_of_a_dialer_call_is_outbound_with_its_variables(name, number):
    path = DIALER / f"{name}.txt"
    bridged = next(float(e["Timestamp"]) for e in messages(path)
                   if e.get("Event") == "BridgeEnter" and e.get("BridgeNumChannels") == "2")
    snapshot = simulated_answer(path, bridged + 0.01)
    assert any("PREINST_ID=" + sent_variables(name)["PREINST_ID"] in values_of(s, "ChanVariable")
               for s in snapshot)
    updates = tracker("SIP/600*").resync(core_show_channels(snapshot))
    assert [(u.state, u.direction, u.customer_number, u.variables) for u in updates] == [
        ("answered", "outbound", number, sent_variables(name))]
