"""The per-call records of the tracker: channels by Uniqueid, agent legs, and the call picture.

A channel whose name matches an agent endpoint carries a leg state (common.envelope
AGENT_LEG_STATES). Several channels of one endpoint in one call (the two halves of a Local pair,
a phone that rings twice) are folded into one state per endpoint: live channels first, by rank,
else the last state the endpoint had when its channel went away.
"""
from __future__ import annotations

from common.phones import is_withheld

RANK = {"answered": 5, "ringing": 4, "transferred": 3, "answered_elsewhere": 2, "missed": 1,
        "ended": 0}


class Channel:
    __slots__ = ("uid", "name", "endpoint", "call", "leg")

    def __init__(self, uid: str, name: str, endpoint: str | None, call: Call) -> None:
        self.uid = uid
        self.name = name
        self.endpoint = endpoint  # agent endpoint, None for customers, trunks, IVR…
        self.call = call
        self.leg: str | None = None  # None until an agent leg starts ringing


class Call:
    __slots__ = ("id", "linkedids", "channels", "root_is_agent", "root_originated", "agent_caller",
                 "direction", "caller_number", "dialled", "queue", "variables", "started_at",
                 "seq", "last", "picture", "finished", "answered", "deferred", "internal")

    def __init__(self, call_id: str, started_at: float, seq_base: int = 0) -> None:
        self.id = call_id
        self.linkedids = {call_id}
        self.channels: dict[str, Channel] = {}
        self.root_is_agent = False
        self.root_originated = False  # Asterisk dialled the root (Originate), nobody called in
        self.agent_caller: str | None = None  # Uniqueid of the channel that first rang an agent
        self.direction: str | None = None  # fixed at the first update
        self.caller_number: str | None = None  # root's CallerIDNum (inbound customer)
        self.dialled: str | None = None  # digits dialled toward a non-agent leg (outbound customer)
        self.queue: str | None = None
        self.variables: dict[str, str] = {}
        self.started_at = started_at
        self.seq = seq_base  # see tracker.py: numbering survives a restart
        self.last = None  # the last CallUpdate published
        self.picture: tuple | None = None
        self.finished: dict[str, str] = {}  # endpoint → leg state of its channels that are gone
        self.answered = False
        self.deferred = False  # an agent's phone is placing a call: wait to see what it dials
        self.internal = False  # agent-to-agent call (transfer consultation): never published

    def agents(self) -> dict[str, str]:
        legs = dict(self.finished)
        live: dict[str, str] = {}
        for ch in self.channels.values():
            if ch.endpoint and ch.leg:
                current = live.get(ch.endpoint)
                if current is None or RANK[ch.leg] > RANK[current]:
                    live[ch.endpoint] = ch.leg
        legs.update(live)
        return legs

    def someone_answered_besides(self, endpoint: str) -> bool:
        return any(ch.leg == "answered" and ch.endpoint != endpoint
                   for ch in self.channels.values())

    def customer_number(self) -> str | None:
        number = self.dialled if self.direction == "outbound" else self.caller_number
        return None if is_withheld(number) else number


def ring(ch: Channel) -> None:
    if ch.endpoint and ch.leg is None:
        ch.leg = "ringing"


def answer(ch: Channel) -> None:
    if not ch.endpoint or ch.leg not in (None, "ringing"):
        return
    ch.leg = "answered"
    call = ch.call
    call.answered = True
    for other in call.channels.values():
        if other.leg == "ringing" and other.endpoint != ch.endpoint:
            other.leg = "answered_elsewhere"


def stop_ringing(ch: Channel) -> None:
    """The phone stopped alerting without answering: declined, timed out, or cancelled."""
    if ch.leg == "ringing":
        ch.leg = ("answered_elsewhere" if ch.call.someone_answered_besides(ch.endpoint or "")
                  else "missed")


def finish(ch: Channel) -> None:
    """The channel is gone: remember its endpoint's final leg state in the call."""
    if not ch.endpoint or not ch.leg:
        return
    stop_ringing(ch)
    ch.call.finished[ch.endpoint] = "ended" if ch.leg == "answered" else ch.leg
