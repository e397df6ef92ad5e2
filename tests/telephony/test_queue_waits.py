"""Who waits in each queue, from the recorded IVR trace's queue events and a resync."""
from __future__ import annotations

from pathlib import Path

from telephony.queue_waits import UNKNOWN_SINCE, QueueWaits
from telephony.simulator.template import read_trace

TRACE = Path(__file__).resolve().parents[2] / "telephony/simulator/traces/ivr-menu.txt"


def test_the_recorded_caller_waits_from_join_to_leave():
    waits = QueueWaits()
    seen = []
    for event in read_trace(TRACE.read_bytes()):
        waits.feed(event.headers)
        seen.append(waits.earliest("ventas"))
        if event.headers.get("Event") == "QueueCallerJoin":
            joined = float(event.headers["Timestamp"])
    assert joined in seen and waits.earliest("ventas") is None
    assert waits.earliest("soporte") is None


def test_a_hangup_ends_the_wait_and_the_earliest_joiner_counts():
    waits = QueueWaits(clock=lambda: 50.0)
    for uid, at in (("a", "20.0"), ("b", "10.0")):
        waits.feed({"Event": "QueueCallerJoin", "Queue": "ventas", "Uniqueid": uid,
                    "Timestamp": at})
    waits.feed({"Event": "QueueCallerJoin", "Queue": "ventas", "Uniqueid": "c"})  # no Timestamp
    assert waits.earliest("ventas") == 10.0 and waits.waiting("ventas") == 3
    waits.feed({"Event": "Hangup", "Uniqueid": "b"})
    assert waits.earliest("ventas") == 20.0


def test_after_a_resync_an_unknown_waiting_caller_blocks_until_it_leaves():
    waits = QueueWaits()
    waits.feed({"Event": "QueueCallerJoin", "Queue": "ventas", "Uniqueid": "a", "Timestamp": "20"})
    waits.resync([{"Uniqueid": "a", "Application": "Queue", "ApplicationData": "ventas,t,,,900"},
                  {"Uniqueid": "x", "Application": "Queue", "ApplicationData": "ventas,t"},
                  {"Uniqueid": "y", "Application": "Dial", "ApplicationData": "PJSIP/6001"}])
    assert waits.earliest("ventas") == UNKNOWN_SINCE and waits.waiting("ventas") == 2
    waits.feed({"Event": "QueueCallerLeave", "Queue": "ventas", "Uniqueid": "x"})
    assert waits.earliest("ventas") == 20.0
