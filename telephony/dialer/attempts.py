"""Folds AMI events into the facts of each dialer attempt and reports its outcome once the
attempt is over (pure: no I/O).

An attempt is the Originate the dialer sent, known by its ActionID and, when the dialer set one,
its ChannelId (the originated channel's Uniqueid, which is also every leg's Linkedid). Without a
ChannelId the Uniqueid is learnt only from OriginateResponse, which may come after the channel's
first events: those wait in a small bounded buffer keyed by Linkedid. The outcome is decided only
when both the OriginateResponse (or the action's Error) and the Hangup of every leg seen have
arrived, so events reordered within the same millisecond give the same result.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field

from common.dialer.outcomes import AttemptFacts, AttemptResult, Order, classify

BUFFERED_CALLS = 256
BUFFERED_EVENTS_PER_CALL = 256
RELEVANT = frozenset({"Newchannel", "Hangup", "DialBegin", "DialEnd", "AgentConnect", "VarSet",
                      "UserEvent"})
# extensions.conf [dialer-connect] reports AMD() with `UserEvent(DialerAMD,Status: …,Cause: …)`:
# the AMI user reads the user class, not the dialplan class that VarSet belongs to
AMD_USER_EVENT = "DialerAMD"


@dataclass
class _Attempt:
    key: str
    action_id: str
    facts: AttemptFacts
    uniqueid: str | None
    customer_uniqueid: str | None = None
    live: set[str] = field(default_factory=set)


class AttemptTracker:
    def __init__(self) -> None:
        self._by_action: dict[str, _Attempt] = {}
        self._by_linkedid: dict[str, _Attempt] = {}
        self._unplaced: OrderedDict[str, list[Mapping[str, str]]] = OrderedDict()

    def expect(self, key: str, *, action_id: str, order: Order,
               channel_id: str | None = None) -> None:
        """Registers an attempt before its Originate is written."""
        attempt = _Attempt(key, action_id, AttemptFacts(order), channel_id)
        if order is Order.CUSTOMER_FIRST:
            attempt.customer_uniqueid = channel_id
        self._by_action[action_id] = attempt
        if channel_id:
            self._by_linkedid[channel_id] = attempt

    def forget(self, key: str) -> None:
        """Drops an attempt given up on (its events, if any still come, are ignored)."""
        for action_id, attempt in list(self._by_action.items()):
            if attempt.key == key:
                del self._by_action[action_id]
                if attempt.uniqueid:
                    self._by_linkedid.pop(attempt.uniqueid, None)

    @property
    def pending(self) -> int:
        return len(self._by_action)

    def feed(self, message: Mapping[str, str]) -> list[tuple[str, AttemptResult]]:
        """Returns (attempt key, result) for each attempt this message finished."""
        event = message.get("Event")
        if event is None:
            attempt = self._by_action.get(message.get("ActionID", ""))
            if attempt is not None and message.get("Response") == "Error":
                attempt.facts.originate = "Error"
                return self._finish_if_over(attempt)
            return []
        if event == "OriginateResponse":
            attempt = self._by_action.get(message.get("ActionID", ""))
            return self._on_originate_response(attempt, message) if attempt else []
        if event not in RELEVANT:
            return []
        linkedid = message.get("Linkedid") or message.get("DestLinkedid", "")
        attempt = self._by_linkedid.get(linkedid)
        if attempt is None:
            self._buffer(linkedid, message)
            return []
        _apply(attempt, message)
        return self._finish_if_over(attempt)

    def _on_originate_response(self, attempt: _Attempt,
                               message: Mapping[str, str]) -> list[tuple[str, AttemptResult]]:
        facts = attempt.facts
        facts.originate = message.get("Response")
        facts.reason = _int(message.get("Reason"))
        at = _timestamp(message)
        if attempt.uniqueid is None and message.get("Uniqueid"):
            attempt.uniqueid = message["Uniqueid"]
            if facts.order is Order.CUSTOMER_FIRST:
                attempt.customer_uniqueid = attempt.uniqueid
            self._by_linkedid[attempt.uniqueid] = attempt
            for earlier in self._unplaced.pop(attempt.uniqueid, []):
                _apply(attempt, earlier)
        if facts.order is Order.CUSTOMER_FIRST and facts.reason == 4 and at is not None:
            facts.customer_answered_at = _earliest(facts.customer_answered_at, at)
        if facts.originate != "Success":
            facts.ended_at = _latest(facts.ended_at, at)
        return self._finish_if_over(attempt)

    def _buffer(self, linkedid: str, message: Mapping[str, str]) -> None:
        if not linkedid or not any(a.uniqueid is None for a in self._by_action.values()):
            return
        events = self._unplaced.setdefault(linkedid, [])
        self._unplaced.move_to_end(linkedid)
        if len(events) < BUFFERED_EVENTS_PER_CALL:
            events.append(message)
        while len(self._unplaced) > BUFFERED_CALLS:
            self._unplaced.popitem(last=False)

    def _finish_if_over(self, attempt: _Attempt) -> list[tuple[str, AttemptResult]]:
        if attempt.facts.originate is None or attempt.live:
            return []
        del self._by_action[attempt.action_id]
        if attempt.uniqueid:
            self._by_linkedid.pop(attempt.uniqueid, None)
        return [(attempt.key, classify(attempt.facts))]


def _apply(attempt: _Attempt, message: Mapping[str, str]) -> None:
    facts = attempt.facts
    event = message["Event"]
    uniqueid = message.get("Uniqueid")
    at = _timestamp(message)
    if event == "Newchannel" and uniqueid:
        attempt.live.add(uniqueid)
    elif event == "Hangup" and uniqueid:
        attempt.live.discard(uniqueid)
        facts.ended_at = _latest(facts.ended_at, at)
        if uniqueid == attempt.customer_uniqueid:
            facts.customer_hangup_cause = _int(message.get("Cause"))
    elif event == "DialBegin":
        if facts.order is Order.AGENT_FIRST and uniqueid and uniqueid == attempt.uniqueid \
                and attempt.customer_uniqueid is None:
            attempt.customer_uniqueid = message.get("DestUniqueid")
    elif event == "DialEnd":
        status = message.get("DialStatus")
        if message.get("DestUniqueid") == attempt.customer_uniqueid and attempt.customer_uniqueid:
            facts.customer_dial_status = status
            if status == "ANSWER":
                facts.customer_answered_at = _earliest(facts.customer_answered_at, at)
        elif uniqueid and uniqueid == attempt.customer_uniqueid and status == "ANSWER":
            facts.agent_connected_at = _earliest(facts.agent_connected_at, at)
    elif event == "AgentConnect" and uniqueid and uniqueid == attempt.customer_uniqueid:
        facts.agent_connected_at = _earliest(facts.agent_connected_at, at)
    elif event == "VarSet" and uniqueid and uniqueid == attempt.customer_uniqueid \
            and message.get("Variable") == "AMDSTATUS":
        facts.amd_status = message.get("Value")
        facts.amd_decided_at = at
    elif event == "UserEvent" and message.get("UserEvent") == AMD_USER_EVENT and uniqueid \
            and uniqueid == attempt.customer_uniqueid and facts.amd_status is None:
        facts.amd_status = message.get("Status")
        facts.amd_decided_at = at


def _int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def _timestamp(message: Mapping[str, str]) -> float | None:
    try:
        return float(message["Timestamp"])
    except (KeyError, ValueError):
        return None


def _earliest(current: float | None, at: float | None) -> float | None:
    if at is None:
        return current
    return at if current is None else min(current, at)


def _latest(current: float | None, at: float | None) -> float | None:
    if at is None:
        return current
    return at if current is None else max(current, at)
