"""Every recorded Originate trace (tests/dialer/traces, copied from shared/fixtures/ami/dialer)
replayed through the attempt tracker from its raw AMI bytes: one outcome per Originate the client
sent, the same whatever the order of the events that share a millisecond."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from common.dialer.outcomes import (
    AttemptFacts,
    Order,
    Outcome,
    classify,
)
from telephony.ami.frames import iter_messages
from telephony.dialer.attempts import AttemptTracker

# A copy of shared/fixtures/ami/dialer (its README says what produced each file).
FIXTURES = Path(__file__).resolve().parent / "traces"

# ActionID → (order, outcome, abandoned), from each trace's description in the folder's README.
EXPECTED = {
    "agent-first": {"dialer-c7-1001": (Order.AGENT_FIRST, Outcome.CONNECTED, False)},
    "agent-unreachable": {
        "dialer-c7-1003": (Order.AGENT_FIRST, Outcome.AGENT_REJECTED, False),
        "dialer-c7-1004": (Order.AGENT_FIRST, Outcome.AGENT_REJECTED, False),
        "dialer-c7-1005": (Order.AGENT_FIRST, Outcome.AGENT_REJECTED, False),
    },
    "amd-human": {"dialer-c7-1012": (Order.CUSTOMER_FIRST, Outcome.CONNECTED, False)},
    "amd-machine": {"dialer-c7-1009": (Order.CUSTOMER_FIRST, Outcome.MACHINE, False)},
    "customer-busy": {"dialer-c7-1006": (Order.CUSTOMER_FIRST, Outcome.BUSY, False)},
    "customer-first": {"dialer-c7-1002": (Order.CUSTOMER_FIRST, Outcome.CONNECTED, False)},
    "customer-noanswer": {"dialer-c7-1007": (Order.CUSTOMER_FIRST, Outcome.NO_ANSWER, False)},
    "customer-not-found": {
        "dialer-c7-1008": (Order.CUSTOMER_FIRST, Outcome.INVALID_NUMBER, False)},
    "mixmonitor": {"dialer-c7-1010": (Order.AGENT_FIRST, Outcome.CONNECTED, False)},
    "mixmonitor-stop": {"dialer-c7-1011": (Order.AGENT_FIRST, Outcome.CONNECTED, False)},
    "queue-priority": {},
}


def sent_actions(path: Path) -> list[dict[str, str]]:
    """The actions of a NAME.sent.txt file (`### +t` blocks of `Key: Value` lines)."""
    actions, current = [], {}
    for line in path.read_text().splitlines():
        if line.startswith("###"):
            current = {}
            actions.append(current)
        elif ": " in line:
            key, value = line.split(": ", 1)
            current[key] = value
    return actions


def tracker_for(trace: str) -> AttemptTracker:
    tracker = AttemptTracker()
    for action in sent_actions(FIXTURES / f"{trace}.sent.txt"):
        if action.get("Action") == "Originate":
            order = EXPECTED[trace][action["ActionID"]][0]
            tracker.expect(action["ActionID"], action_id=action["ActionID"], order=order,
                           channel_id=action.get("ChannelId"))
    return tracker


def replay(trace: str, messages: list[dict[str, str]]) -> dict[str, tuple]:
    tracker = tracker_for(trace)
    results = {}
    for message in messages:
        for key, result in tracker.feed(message):
            assert key not in results, f"{key} finished twice"
            results[key] = result
    assert tracker.pending == 0, "an attempt never finished"
    return {key: (r.outcome, r.abandoned) for key, r in results.items()}


def recorded(trace: str) -> list[dict[str, str]]:
    return list(iter_messages((FIXTURES / f"{trace}.txt").read_bytes()))


def test_every_recorded_trace_is_covered():
    traces = {p.name[:-4] for p in FIXTURES.glob("*.txt") if not p.name.endswith(".sent.txt")}
    assert traces == set(EXPECTED)


@pytest.mark.parametrize("trace", sorted(EXPECTED))
def test_recorded_trace_gives_one_outcome_per_originate(trace):
    expected = {key: (outcome, abandoned) for key, (_, outcome, abandoned)
                in EXPECTED[trace].items()}
    assert replay(trace, recorded(trace)) == expected


def millisecond(message: dict[str, str]) -> str | None:
    stamp = message.get("Timestamp")
    return stamp[: stamp.index(".") + 4] if stamp else None


def source(message: dict[str, str]) -> str:
    """Who emitted it: a channel's own events keep their order (its thread writes them), while
    OriginateResponse, Cdr and other channels' events may overtake them."""
    if message.get("Event") in ("OriginateResponse", "Cdr"):
        return message["Event"]
    return message.get("Uniqueid") or message.get("DestUniqueid") or "session"


def reorder_within_milliseconds(messages: list[dict[str, str]], shuffler: random.Random):
    """Random adjacent swaps of events that share a millisecond and come from different sources;
    a Newchannel stays ahead of everything after it (nothing of a channel precedes its creation)."""
    messages = list(messages)
    for _ in range(len(messages) * 10):
        i = shuffler.randrange(len(messages) - 1)
        a, b = messages[i], messages[i + 1]
        if millisecond(a) is not None and millisecond(a) == millisecond(b) \
                and source(a) != source(b) and "Newchannel" not in (a.get("Event"), b.get("Event")):
            messages[i], messages[i + 1] = b, a
    return messages


@pytest.mark.parametrize("trace", sorted(EXPECTED))
def test_events_in_the_same_millisecond_in_any_order_give_the_same_outcome(trace):
    expected = replay(trace, recorded(trace))
    shuffler = random.Random(trace)
    for _ in range(10):
        assert replay(trace, reorder_within_milliseconds(recorded(trace), shuffler)) == expected


def test_busy_reported_before_its_dial_end_and_hangup_is_still_busy():
    """The two runs of customer-busy delivered OriginateResponse, DialEnd and Hangup in
    different orders: put the OriginateResponse first and the Hangup last."""
    messages = recorded("customer-busy")
    response = next(m for m in messages if m.get("Event") == "OriginateResponse")
    hangup = next(m for m in messages if m.get("Event") == "Hangup")
    rest = [m for m in messages if m is not response and m is not hangup]
    dial_end = next(i for i, m in enumerate(rest) if m.get("Event") == "DialEnd")
    reordered = rest[:dial_end] + [response] + rest[dial_end:] + [hangup]
    assert replay("customer-busy", reordered) == {"dialer-c7-1006": (Outcome.BUSY, False)}


def test_an_attempt_is_not_decided_before_its_last_leg_hangs_up():
    messages = recorded("customer-busy")
    tracker = tracker_for("customer-busy")
    finished = []
    for message in messages:
        if message.get("Event") == "Hangup":
            assert finished == []
        finished += tracker.feed(message)
    assert [key for key, _ in finished] == ["dialer-c7-1006"]


def customer_first(**facts) -> AttemptFacts:
    return AttemptFacts(Order.CUSTOMER_FIRST, originate="Success", reason=4, **facts)


def test_customer_answered_and_no_agent_took_it_is_abandoned():
    result = classify(customer_first(customer_answered_at=100.0, ended_at=130.0))
    assert (result.outcome, result.abandoned) == (Outcome.ABANDONED, True)


def test_agent_later_than_two_seconds_after_the_answer_counts_as_abandoned():
    late = classify(customer_first(customer_answered_at=100.0, agent_connected_at=102.5))
    in_time = classify(customer_first(customer_answered_at=100.0, agent_connected_at=101.9))
    assert (late.outcome, late.abandoned) == (Outcome.CONNECTED, True)
    assert (in_time.outcome, in_time.abandoned) == (Outcome.CONNECTED, False)


def test_with_answering_machine_detection_the_two_seconds_start_at_its_human_verdict():
    result = classify(customer_first(customer_answered_at=100.0, amd_status="HUMAN",
                                     amd_decided_at=102.1, agent_connected_at=103.6))
    assert (result.outcome, result.abandoned) == (Outcome.CONNECTED, False)


@pytest.mark.parametrize(("dial_status", "cause", "reason", "outcome"), [
    ("CONGESTION", 34, 8, Outcome.FAILED),
    ("CHANUNAVAIL", None, 0, Outcome.FAILED),
    (None, None, 8, Outcome.FAILED),
    ("NOANSWER", 16, 1, Outcome.NO_ANSWER),
    ("NOANSWER", 1, 0, Outcome.INVALID_NUMBER),
    (None, 21, 1, Outcome.BUSY),
    (None, None, 5, Outcome.BUSY),
])
def test_unanswered_calls_take_the_most_specific_fact(dial_status, cause, reason, outcome):
    facts = AttemptFacts(Order.CUSTOMER_FIRST, originate="Failure", reason=reason,
                         customer_dial_status=dial_status, customer_hangup_cause=cause)
    assert classify(facts).outcome is outcome


def as_production_sees_it(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """The stream telephony's AMI user gets (manager.conf: no dialplan class): no VarSet or
    Newexten, and the dialplan's `UserEvent(DialerAMD,Status: …,Cause: …)` after AMD()."""
    seen = []
    for message in messages:
        if message.get("Event") == "VarSet" and message.get("Variable") == "AMDSTATUS":
            seen.append({**{k: v for k, v in message.items()
                            if k not in ("Event", "Privilege", "Variable", "Value")},
                         "Event": "UserEvent", "Privilege": "user,all",
                         "UserEvent": "DialerAMD", "Status": message["Value"],
                         "Cause": "TOOLONG-5000"})
        elif message.get("Event") not in ("VarSet", "Newexten"):
            seen.append(message)
    return seen


@pytest.mark.parametrize("trace, outcome", [("amd-machine", Outcome.MACHINE),
                                            ("amd-human", Outcome.CONNECTED)])
def test_amd_verdict_from_the_dialplan_user_event(trace, outcome):
    (result,) = replay(trace, as_production_sees_it(recorded(trace))).values()
    assert result == (outcome, False)
