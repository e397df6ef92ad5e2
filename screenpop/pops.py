"""What an agent's browser is told about a call: pure functions from a call envelope and a match
to the WebSocket messages documented in docs/websocket.md (schema version 1)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from common.envelope import CallUpdate
from common.phones import display, is_withheld, to_e164
from screenpop.fields import MISSING_FIELDS
from screenpop.index import Match
from screenpop.wisphub.models import Preinstallation

PROTOCOL_VERSION = 1

# Leg state of the agent's endpoint → (pop state, reason)
LEG_STATES: dict[str, tuple[str, str | None]] = {
    "ringing": ("ringing", None),
    "answered": ("answered", None),
    "answered_elsewhere": ("ended", "answered_elsewhere"),
    "missed": ("ended", "missed"),
    "transferred": ("ended", "transferred"),
    "ended": ("ended", None),
}
# When one agent has several endpoints in the same call, the most engaged leg speaks for them.
_LEG_PRIORITY = ("answered", "ringing", "transferred", "answered_elsewhere", "missed", "ended")
# Set by the dialer on the calls it places (see telephony.tracker.VARIABLES).
DIALER_VARIABLES = frozenset({"CAMPAIGN_ID", "CAMPAIGN", "PREINST_ID"})


def record_payload(record: Preinstallation) -> dict[str, Any]:
    pop = record.to_pop()
    pop["missing_labels"] = [MISSING_FIELDS.get(key, key) for key in record.missing]
    pop["phones_display"] = [display(number) for number in record.phones] or (
        [record.phone_raw] if record.phone_raw else [])
    return pop


def match_payload(match: Match) -> dict[str, Any]:
    return {"status": match.status,
            "preinstallations": [record_payload(r) for r in match.preinstallations]}


def linked_payload(record: Preinstallation) -> dict[str, Any]:
    return {"status": "one", "preinstallations": [record_payload(record)], "linked": True}


def agent_leg(update: CallUpdate, endpoints: Iterable[str]) -> tuple[str, str] | None:
    """(endpoint, leg state) of the agent in this call, or None when none of theirs is in it."""
    legs = [(ep, update.agents[ep]) for ep in endpoints if ep in update.agents]
    if not legs:
        return None
    return min(legs, key=lambda leg: _LEG_PRIORITY.index(leg[1]))


def placed_by_agent(update: CallUpdate, endpoint: str) -> bool:
    """True when the agent dialled this call from their own phone, so the page does not ring for
    it: outbound, their endpoint alone in it, not through a queue, without the channel variables
    a dialer's Originate carries, and the number already known (telephony publishes a call the
    agent's phone places only once it has dialled; an Originate rings the agent first and dials
    the customer after). A campaign's or a queue's outbound call, and a call handed over by
    another agent, ring the agent like an inbound one."""
    return (update.direction == "outbound" and set(update.agents) == {endpoint}
            and update.queue is None and not DIALER_VARIABLES & update.variables.keys()
            and bool(update.customer_number))


def customer(update: CallUpdate) -> tuple[str | None, str]:
    """(E.164 or None, text to show) for the customer side of the call."""
    number = to_e164(update.customer_number)
    if number:
        return number, display(number)
    if is_withheld(update.customer_number):
        return None, "Número oculto"
    return None, (update.customer_number or "").strip()


def build_pop(update: CallUpdate, endpoint: str, leg: str,
              match: Mapping[str, Any]) -> dict[str, Any]:
    state, reason = LEG_STATES[leg]
    if update.state == "ended" and state != "ended":
        state = "ended"
    number, shown = customer(update)
    return {
        "type": "pop",
        "version": PROTOCOL_VERSION,
        "call_id": update.call_id,
        "seq": update.seq,
        "direction": update.direction,
        "placed_by_agent": placed_by_agent(update, endpoint),
        "state": state,
        "reason": reason,
        "agent_endpoint": endpoint,
        "customer_number": number,
        "customer_raw": update.customer_number,
        "customer_display": shown,
        "queue": update.queue,
        "started_at": update.started_at,
        "event_at": update.event_at,
        "match": dict(match),
    }


def build_hello(user: Mapping[str, Any], endpoints: Iterable[str], *, server_time: float,
                ping_interval: float) -> dict[str, Any]:
    return {"type": "hello", "version": PROTOCOL_VERSION, "user": dict(user),
            "endpoints": list(endpoints), "server_time": server_time,
            "ping_interval": ping_interval}


def build_synced(call_ids: Iterable[str]) -> dict[str, Any]:
    """Sent after the live pops of a (re)connect: calls not listed are no longer live."""
    return {"type": "synced", "version": PROTOCOL_VERSION, "call_ids": list(call_ids)}
