"""Malformed, unknown, reordered and late events; memory over many calls."""
from __future__ import annotations

import re

import pytest

from tests.telephony.replay import SYNTHETIC, TRACES, feed_all, messages, summary, tracker

TRUNK = TRACES / "sip-trunk-inbound-queue.txt"


def test_noise_and_unknown_events_produce_nothing():
    t = tracker("SIP/600*")
    for event in ({"Event": "VarSet", "Uniqueid": "1.1", "Variable": "SIPCALLID", "Value": "x"},
                  {"Event": "Newexten", "Channel": "SIP/6001-00000001", "Uniqueid": "1.1"},
                  {"Event": "DeviceStateChange", "Device": "SIP/6001", "State": "RINGING"},
                  {"Event": "SomethingNew", "Channel": "SIP/6001-00000001"},
                  {"Response": "Success", "Message": "Authentication accepted"}, {}):
        assert t.feed(event) == []
    assert t.live_calls() == []


@pytest.mark.parametrize("missing", ["Uniqueid", "Channel", "Linkedid", "ChannelState",
                                     "DestUniqueid", "DestChannel", "DialStatus", "Timestamp",
                                     "CallerIDNum"])
def test_events_missing_a_header_never_raise(missing):
    t = tracker("SIP/600*")
    for event in messages(TRUNK):
        event.pop(missing, None)
        t.feed(event)


def test_garbage_values_never_raise():
    t = tracker("SIP/600*")
    for event in messages(TRUNK):
        for key in list(event):
            if key != "Event":
                event[key] = "\x00<garbage>;;--@@"
        assert t.feed(event) == []


def test_a_missing_uniqueid_ignores_the_event_and_the_call_goes_on():
    events = messages(TRUNK)
    answer = next(i for i, e in enumerate(events)
                  if e.get("Event") == "Newstate" and e.get("ChannelStateDesc") == "Up"
                  and e["Channel"].startswith("SIP/6001"))
    broken = dict(events[answer])
    del broken["Uniqueid"]
    t = tracker("SIP/600*")
    assert feed_all(t, events[:answer]) and t.feed(broken) == []
    # DialEnd ANSWER right after still tells who answered
    rest = summary(feed_all(t, events[answer + 1:]))
    assert rest[0][1:] == ("answered", "inbound", "5215512345678",
                           {"SIP/6002": "answered_elsewhere", "SIP/6001": "answered"})


def test_bridge_enter_before_dial_end_is_handled():
    events = messages(TRUNK)
    # drop the agent's Newstate Up and move its BridgeEnter before DialEnd ANSWER
    up = next(i for i, e in enumerate(events) if e.get("Event") == "Newstate"
              and e.get("ChannelStateDesc") == "Up" and e["Channel"].startswith("SIP/6001"))
    enter = next(e for e in events if e.get("Event") == "BridgeEnter"
                 and e["Channel"].startswith("SIP/6001"))
    reordered = [e for e in events if e is not enter]
    reordered[up] = enter
    expected = summary(feed_all(tracker("SIP/600*"), events))
    assert summary(feed_all(tracker("SIP/600*"), reordered)) == expected


def test_late_events_after_hangup_do_not_revive_the_call():
    t = tracker("SIP/600*")
    events = messages(TRUNK)
    feed_all(t, events)
    late = next(e for e in events if e.get("Event") == "Newstate"
                and e["Channel"].startswith("SIP/6001"))
    assert t.feed(late) == []
    assert t.live_calls() == []


def test_hangup_of_an_unknown_channel_is_ignored():
    t = tracker("SIP/600*")
    assert t.feed({"Event": "Hangup", "Channel": "SIP/6001-00000099", "Uniqueid": "9.9",
                   "Linkedid": "9.9", "Cause": "16"}) == []


def test_a_stream_joined_mid_call_still_follows_the_call():
    events = messages(TRUNK)
    start = next(i for i, e in enumerate(events) if e.get("Event") == "AgentCalled")
    updates = summary(feed_all(tracker("SIP/600*"), events[start:]))
    assert updates[0][:2] == ("1795497164.61", "ringing")
    assert updates[-1][1] == "ended"


def _renumbered(text: str, n: int) -> str:
    """The same call with other Uniqueids/Linkedids and channel names."""
    text = re.sub(r"(Uniqueid|Linkedid): 1795497164\.(\d+)",
                  lambda m: f"{m.group(1)}: {2_000_000 + n}.{m.group(2)}", text)
    return re.sub(r"-000000(1f|20|21)\b", lambda m: f"-{n:06x}{m.group(1)}", text)


def test_ended_calls_are_forgotten():
    from telephony.ami.frames import iter_messages
    text = (SYNTHETIC / "queue-linear-noanswer-then-next.txt").read_bytes().decode("utf-8")
    t = tracker("SIP/600*")
    ids = set()
    for n in range(300):
        for event in iter_messages(_renumbered(text, n).encode()):
            ids.update(u.call_id for u in t.feed(event))
        assert t.live_calls() == []
    assert len(ids) == 300
    assert (len(t._channels), len(t._calls), len(t._by_linkedid)) == (0, 0, 0)


def test_withheld_caller_ids_are_none():
    from common.phones import is_withheld
    for raw in ("anonymous", "Anonymous", "<unknown>", "unknown", "restricted", "Restricted",
                "Private", "Unavailable", ""):
        assert is_withheld(raw)
    updates = feed_all(tracker("SIP/600*"), messages(SYNTHETIC / "inbound-anonymous.txt"))
    assert len({u.call_id for u in updates}) == 4
    assert {u.customer_number for u in updates} == {None}
