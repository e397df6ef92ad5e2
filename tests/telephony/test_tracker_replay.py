"""Every recorded Asterisk 20 trace and every synthetic scenario, replayed through the tracker:
the exact sequence of call updates (call_id, state, direction, customer number, agent legs)."""
from __future__ import annotations

import pytest

from tests.telephony.replay import SYNTHETIC, TRACES, Clock, feed_all, messages, summary, tracker

LOCAL, SIP = ("Local/*@agents",), ("SIP/600*",)
IN, OUT = "inbound", "outbound"
A1, A2, L1 = "SIP/6001", "SIP/6002", "Local/6001@agents"


def call(call_id, number, direction, *steps):
    return [(call_id, state, direction, number, agents) for state, agents in steps]


REAL = {
    "local-inbound-queue": (LOCAL, call(
        "1795495097.0", "5215512345678", IN,
        ("ringing", {L1: "ringing"}), ("answered", {L1: "answered"}),
        ("answered", {L1: "ended"}), ("ended", {L1: "ended"}))),
    "local-outbound-originate": (LOCAL, call(
        "1795495135.4", None, OUT,
        ("ringing", {L1: "ringing"}), ("answered", {L1: "answered"}))
        + call("1795495135.4", "5512345678", OUT,
               ("answered", {L1: "answered"}), ("ended", {L1: "ended"}))),
    "local-outbound-originate-dial": (LOCAL, call(
        "1795495162.6", None, OUT,
        ("ringing", {L1: "ringing"}), ("answered", {L1: "answered"}))
        + call("1795495162.6", "5512345678", OUT,
               ("answered", {L1: "answered"}), ("ended", {L1: "ended"}))),
    "local-outbound-predictive": (LOCAL, call(
        "1795495198.10", "5512345678", OUT,
        ("ringing", {L1: "ringing"}), ("answered", {L1: "answered"}),
        ("answered", {L1: "ended"}), ("ended", {L1: "ended"}))),
    "coreshowchannels-live-inbound": (LOCAL, []),
    "login-and-misc": (SIP, []),
    "sip-inbound-direct": (SIP, call(
        "1795496966.4", "+525598765432", IN,
        ("ringing", {A1: "ringing"}), ("answered", {A1: "answered"}),
        ("answered", {A1: "ended"}), ("ended", {A1: "ended"}))),
    "sip-trunk-inbound-queue": (SIP, call(
        "1795497164.61", "5215512345678", IN,
        ("ringing", {A2: "ringing"}), ("ringing", {A2: "ringing", A1: "ringing"}),
        ("answered", {A2: "answered_elsewhere", A1: "answered"}),
        ("ended", {A2: "answered_elsewhere", A1: "ended"}))),
    "sip-agent-outbound": (SIP, call(
        "1795497042.32", "5512345678", OUT,
        ("ringing", {A1: "ringing"}), ("answered", {A1: "answered"}),
        ("answered", {A1: "ended"}), ("ended", {A1: "ended"}))),
    "sip-dialer-agent-first": (SIP, call(
        "1795497053.35", None, OUT, ("ringing", {A1: "ringing"}))
        + call("1795497053.35", "5533334444", OUT,
               ("ringing", {A1: "ringing"}), ("answered", {A1: "answered"}),
               ("ended", {A1: "ended"}))),
    "sip-dialer-noanswer-busy": (SIP, call(
        "1795497067.38", None, OUT, ("ringing", {A1: "ringing"}), ("answered", {A1: "answered"}))
        + call("1795497067.38", "5544440001", OUT,
               ("answered", {A1: "answered"}), ("ended", {A1: "ended"}))
        + call("1795497085.41", None, OUT,
               ("ringing", {A1: "ringing"}), ("answered", {A1: "answered"}))
        + call("1795497085.41", "5544440002", OUT,
               ("answered", {A1: "answered"}), ("ended", {A1: "ended"}))),
    "ivr-menu": (SIP, call(
        "1795497128.50", "5215587654321", IN,
        ("ringing", {A2: "ringing"}), ("ringing", {A2: "ringing", A1: "ringing"}),
        ("answered", {A2: "answered_elsewhere", A1: "answered"}),
        ("ended", {A2: "answered_elsewhere", A1: "ended"}))),
    "reconnect.listener": (SIP, call(
        "1795497245.70", "5215512345678", IN,
        ("ringing", {A2: "ringing"}), ("ringing", {A2: "ringing", A1: "ringing"}),
        ("answered", {A2: "answered_elsewhere", A1: "answered"}),
        ("ended", {A2: "answered_elsewhere", A1: "ended"}))),
    # a session that connects mid-call sees only list answers: nothing to report from feed()
    "reconnect": (SIP, []),
}

QUEUE_CALL = "1795497164.61"
SYNTHETIC_EXPECTED = {
    "queue-ringall-other-answers": (SIP, call(
        QUEUE_CALL, "5215512345678", IN,
        ("ringing", {A1: "ringing"}), ("ringing", {A1: "ringing", A2: "ringing"}),
        ("answered", {A1: "answered_elsewhere", A2: "answered"}),
        ("ended", {A1: "answered_elsewhere", A2: "ended"}))),
    "queue-linear-noanswer-then-next": (SIP, call(
        QUEUE_CALL, "5215512345678", IN,
        ("ringing", {A1: "ringing"}), ("ringing", {A1: "missed"}),
        ("ringing", {A1: "missed", A2: "ringing"}), ("answered", {A1: "missed", A2: "answered"}),
        ("ended", {A1: "missed", A2: "ended"}))),
    "queue-rrmemory": (SIP, call(
        QUEUE_CALL, "5215512345678", IN,
        ("ringing", {A1: "ringing"}), ("answered", {A1: "answered"}), ("ended", {A1: "ended"}))
        + call("1795497184.64", "5215512345678", IN,
               ("ringing", {A2: "ringing"}), ("answered", {A2: "answered"}),
               ("ended", {A2: "ended"}))),
    # holding the caller (Hold/Unhold on the agent's channel, music on the caller's) changes
    # nothing an agent's screen shows: the call is answered throughout
    "queue-hold": (SIP, call(
        QUEUE_CALL, "5215512345678", IN,
        ("ringing", {A1: "ringing"}), ("answered", {A1: "answered"}), ("ended", {A1: "ended"}))),
    "blind-transfer": (SIP, call(
        QUEUE_CALL, "5215512345678", IN,
        ("ringing", {A1: "ringing"}), ("answered", {A1: "answered"}),
        ("answered", {A1: "transferred"}), ("answered", {A1: "transferred", A2: "ringing"}),
        ("answered", {A1: "transferred", A2: "answered"}),
        ("ended", {A1: "transferred", A2: "ended"}))),
    # the consultation call 6001→6002 is internal (no customer) and never published; 6002 joins
    # the customer's call when its bridge merges (Linkedid rewritten), then 6001 is transferred
    "attended-transfer": (SIP, call(
        QUEUE_CALL, "5215512345678", IN,
        ("ringing", {A1: "ringing"}), ("answered", {A1: "answered"}),
        ("answered", {A1: "answered", A2: "answered"}),
        ("answered", {A1: "transferred", A2: "answered"}),
        ("ended", {A1: "transferred", A2: "ended"}))),
    "pjsip-inbound-direct": (("PJSIP/*",), call(
        "1795496966.4", "+525598765432", IN,
        ("ringing", {"PJSIP/6001": "ringing"}), ("answered", {"PJSIP/6001": "answered"}),
        ("answered", {"PJSIP/6001": "ended"}), ("ended", {"PJSIP/6001": "ended"}))),
    "inbound-anonymous": (SIP, [
        row for call_id in ("1795496966.4", "1795496996.7", "1795497026.10", "1795497056.13")
        for row in call(call_id, None, IN,
                        ("ringing", {A1: "ringing"}), ("answered", {A1: "answered"}),
                        ("answered", {A1: "ended"}), ("ended", {A1: "ended"}))]),
    # dialer calls the simulator plays (derived from shared/fixtures/ami/dialer): like the
    # recorded agent-first and customer-first calls, the agent pops while it rings
    **{f"dialer-agent-first-{kind}": (SIP, call(
        "c7-1001-agent", None, OUT, ("ringing", {A1: "ringing"}), ("answered", {A1: "answered"}))
        + call("c7-1001-agent", "5215512345678", OUT,
               ("answered", {A1: "answered"}), ("ended", {A1: "ended"})))
       for kind in ("busy", "noanswer", "not-found")},
    "dialer-agent-noanswer": (SIP, call(
        "c7-1001-agent", None, OUT, ("ringing", {A1: "ringing"}), ("ended", {A1: "missed"}))),
    # IVR calls that reach no agent (after hours; a caller who leaves the queue asking for a
    # callback, hangs up in the menu or gives up in the queue): nothing is published, no agent's page hears of them
    "ivr-after-hours": (SIP, []),
    "ivr-queue-callback": (SIP, []),
    "ivr-hangup-in-menu": (SIP, []),
    "ivr-queue-abandon": (SIP, []),
    "dialer-amd-human-trunk": (SIP, call(
        "1796156376.24", "5215512345678", OUT,
        ("ringing", {A1: "ringing"}), ("answered", {A1: "answered"}), ("ended", {A1: "ended"}))),
}


def test_every_recorded_and_synthetic_trace_has_expectations():
    real = {p.name[:-4] for p in TRACES.glob("*.txt") if not p.name.endswith(".actions.txt")}
    synthetic = {p.name[:-4] for p in SYNTHETIC.glob("*.txt") if not p.name.endswith(".sent.txt")}
    assert real == set(REAL)
    assert synthetic == set(SYNTHETIC_EXPECTED)


@pytest.mark.parametrize("name", sorted(REAL))
def test_recorded_trace(name):
    patterns, expected = REAL[name]
    assert summary(feed_all(tracker(*patterns), messages(TRACES / f"{name}.txt"))) == expected


@pytest.mark.parametrize("name", sorted(SYNTHETIC_EXPECTED))
def test_synthetic_trace(name):
    patterns, expected = SYNTHETIC_EXPECTED[name]
    assert summary(feed_all(tracker(*patterns), messages(SYNTHETIC / f"{name}.txt"))) == expected


@pytest.mark.parametrize("name", ["sip-trunk-inbound-queue", "local-outbound-predictive"])
def test_queue_name_times_and_sequence(name):
    clock = Clock(start=5_000.0)
    events = messages(TRACES / f"{name}.txt")
    updates = feed_all(tracker(*(LOCAL if name.startswith("local") else SIP), clock=clock), events)
    first_channel = next(e for e in events if e.get("Event") == "Newchannel")
    assert {u.queue for u in updates} == {"ventas"}
    assert {u.started_at for u in updates} == {float(first_channel["Timestamp"])}
    # numbered on from the clock at the tracker's start (ms): the Clock's first reading is 5001 s
    assert [u.seq for u in updates] == list(range(5_001_001, 5_001_001 + len(updates)))
    event_times = [u.event_at for u in updates]
    assert event_times == sorted(set(event_times)) and event_times[-1] <= clock.now


def test_dialer_variables_travel_with_every_update():
    updates = feed_all(tracker(*SIP), messages(TRACES / "sip-dialer-agent-first.txt"))
    assert {tuple(sorted(u.variables.items())) for u in updates} == {
        (("CAMPAIGN_ID", "c1"), ("PREINST_ID", "42"))}


def test_originate_variable_on_a_local_agent():
    updates = feed_all(tracker(*LOCAL), messages(TRACES / "local-outbound-originate-dial.txt"))
    assert all(u.variables == {"CAMPAIGN": "demo"} for u in updates)


def test_a_call_that_never_reaches_an_agent_produces_nothing():
    # the same IVR call, but with no channel matching the agents' patterns
    assert feed_all(tracker("PJSIP/*"), messages(TRACES / "ivr-menu.txt")) == []


def test_both_halves_of_a_local_agent_pair_are_one_endpoint():
    updates = feed_all(tracker(*LOCAL), messages(TRACES / "local-inbound-queue.txt"))
    assert all(list(u.agents) == [L1] for u in updates)


def test_a_local_queue_member_that_dials_the_phone_reports_the_phone():
    # FreePBX style: the member Local/6001@agents rings SIP/6001; when both match, the phone counts
    events = messages(TRACES / "sip-inbound-direct.txt")
    proxied = [dict(e) for e in events]
    for e in proxied:
        for key, value in e.items():
            e[key] = value.replace("Local/5550006001@from-pstn", "Local/6001@agents")
    updates = feed_all(tracker("Local/*@agents", "SIP/600*"), proxied)
    assert updates and all(set(u.agents) <= {A1} for u in updates[1:])
    assert updates[-1].agents == {A1: "ended"}


def test_every_real_update_is_a_valid_envelope():
    from common.envelope import CallUpdate
    for path in TRACES.glob("*.txt"):
        patterns = LOCAL if path.name.startswith("local") else SIP
        for update in feed_all(tracker(*patterns), messages(path)):
            assert CallUpdate.from_json(update.to_json()) == update
