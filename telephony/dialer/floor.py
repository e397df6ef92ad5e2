"""What the engine decides from, as plain values (pure: no I/O): the assigned agents' live
states, the agent's decision on a preview offer, the measured figures pacing needs and the live
figures the supervisor page shows."""
from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from telephony.dialer.pacing import Measured

ON_CALL_STATES = frozenset({"in_call", "wrap_up"})


@dataclass(frozen=True)
class AgentView:
    username: str
    state: str                 # screenpop.agents states: offline, available, paused, in_call…
    endpoint: str | None       # the phone an agent-first call rings
    reserved_by: str | None    # the reservation's value (an attempt id), when held

    @property
    def idle(self) -> bool:
        """Signed in, available, and not held for a call by any engine."""
        return self.state == "available" and self.reserved_by is None

    @property
    def on_call(self) -> bool:
        return self.state in ON_CALL_STATES


def agent_view(username: str, state_hash: Mapping[str, str], reservation: str | None,
               account_endpoints: str | None) -> AgentView:
    """From the agent's state hash (JSON-encoded fields, screenpop.agents.AgentState.to_hash),
    its reservation and its account's endpoints (JSON list, the fallback for a state written
    before the state carried the endpoint)."""
    state = _json(state_hash.get("state"))
    endpoint = _json(state_hash.get("endpoint"))
    if not isinstance(endpoint, str) or not endpoint:
        endpoints = _json(account_endpoints)
        endpoint = endpoints[0] if isinstance(endpoints, list) and endpoints \
            and isinstance(endpoints[0], str) else None
    return AgentView(username, state if isinstance(state, str) else "offline", endpoint,
                     reservation)


@dataclass(frozen=True)
class Command:
    attempt_id: str
    action: str   # call | skip
    by: str


def parse_command(raw: str) -> Command | None:
    """`{"attempt_id": "…", "action": "call"|"skip", "by": "<username>"}`; None when malformed."""
    value = _json(raw)
    if not isinstance(value, dict):
        return None
    attempt_id, action, by = value.get("attempt_id"), value.get("action"), value.get("by")
    if not all(isinstance(v, str) and v for v in (attempt_id, action, by)):
        return None
    if action not in ("call", "skip"):
        return None
    return Command(attempt_id, action, by)


def measured(figures: Mapping[str, float], answered_30d: int, abandoned_30d: int) -> Measured:
    """DialerStore.measured + abandon_stats → pacing's Measured."""
    return Measured(dialled=int(figures["dialled"]), answered=int(figures["answered"]),
                    mean_answer_seconds=figures["answer_seconds"],
                    mean_busy_seconds=figures["talk_seconds"], answered_30d=answered_30d,
                    abandoned_30d=abandoned_30d)


def live_figures(campaign_id: str, *, name: str, state: str, in_flight: int,
                 dial_ratio: float, agents: Iterable[AgentView], reserved: int,
                 measured_now: Measured, last_error: str | None) -> dict[str, object]:
    """The fields of Keys.dialer_live (without updated_at)."""
    views = list(agents)
    answer_rate = measured_now.answered / measured_now.dialled if measured_now.dialled else 0.0
    return {"campaign_id": campaign_id, "name": name, "state": state, "in_flight": in_flight,
            "dial_ratio": round(dial_ratio, 3) if math.isfinite(dial_ratio) else 0.0,
            "agents_available": sum(1 for v in views if v.idle),
            "agents_reserved": reserved,
            "agents_on_call": sum(1 for v in views if v.on_call),
            "answer_rate": round(answer_rate, 4),
            "abandon_rate_30d": round(measured_now.abandon_rate_30d, 4),
            "last_error": last_error or ""}


def _json(raw: str | None) -> object:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None
