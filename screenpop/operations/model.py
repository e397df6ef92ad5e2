"""One write to WispHub as a small state machine (pure).

    pending ──▶ sending ──▶ done
       ▲           │──────▶ failed ──(retry)──▶ pending
       │           │──────▶ unknown ──(WispHub shows it done)──▶ verified
       └───────────┘ (not sent: WispHub down)    └──(not done there, several looks later)──▶ sending

`manual`: WispHub has no route for it; the agent is told what to do by hand (never sent).
`done`, `verified` and `manual` are final: nothing is ever sent again for that (call, operation).
Every loop is capped: past its attempts or checks an operation is `failed` with `needs_person`,
and a person resolves it (done in WispHub, or Reintentar).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

PENDING, SENDING, DONE, FAILED, UNKNOWN, VERIFIED, MANUAL = (
    "pending", "sending", "done", "failed", "unknown", "verified", "manual")
FINAL = frozenset({DONE, VERIFIED, MANUAL})
ALLOWED = {
    PENDING: {SENDING, PENDING, VERIFIED, FAILED},
    SENDING: {SENDING, DONE, FAILED, UNKNOWN, PENDING, VERIFIED},
    UNKNOWN: {SENDING, VERIFIED, UNKNOWN, PENDING, FAILED},
    FAILED: {PENDING, VERIFIED},
    DONE: set(),
    VERIFIED: set(),
    MANUAL: set(),
}
STATE_LABELS = {PENDING: "pendiente", SENDING: "enviando", DONE: "hecho", FAILED: "falló",
                UNKNOWN: "comprobando", VERIFIED: "hecho", MANUAL: "hágalo en WispHub"}


class TransitionError(ValueError):
    pass


@dataclass(frozen=True)
class Operation:
    call_id: str
    op_id: str
    kind: str                         # activation | document | data | service
    label: str                        # Spanish, shown on the chip
    params: dict[str, Any]
    by: str
    state: str = PENDING
    created_at: float = 0.0
    updated_at: float = 0.0
    attempts: int = 0
    reference: str = ""
    reason: str = ""
    hint: str = ""
    task_id: str = ""
    queued: bool = False              # waiting in the outbox for WispHub to come back
    next_try: float = 0.0
    checks: int = 0                   # looks at WispHub since the last send left it unknown
    needs_person: bool = False        # a capped loop gave up: someone must look in WispHub

    def moved(self, state: str, now: float, **changes: Any) -> Operation:
        if state not in ALLOWED[self.state]:
            raise TransitionError(f"{self.op_id}: {self.state} → {state} is not allowed")
        return replace(self, state=state, updated_at=now, **changes)

    @property
    def final(self) -> bool:
        return self.state in FINAL

    def to_hash(self) -> dict[str, str]:
        return {"call_id": self.call_id, "op_id": self.op_id, "kind": self.kind,
                "label": self.label, "params": json.dumps(self.params, ensure_ascii=False),
                "by": self.by, "state": self.state, "created_at": repr(self.created_at),
                "updated_at": repr(self.updated_at), "attempts": str(self.attempts),
                "reference": self.reference, "reason": self.reason, "hint": self.hint,
                "task_id": self.task_id, "queued": "1" if self.queued else "",
                "next_try": repr(self.next_try), "checks": str(self.checks),
                "needs_person": "1" if self.needs_person else ""}

    @classmethod
    def from_hash(cls, data: dict[str, str]) -> Operation:
        return cls(call_id=data["call_id"], op_id=data["op_id"], kind=data["kind"],
                   label=data.get("label", ""), params=json.loads(data.get("params") or "{}"),
                   by=data.get("by", ""), state=data.get("state", PENDING),
                   created_at=float(data.get("created_at") or 0),
                   updated_at=float(data.get("updated_at") or 0),
                   attempts=int(data.get("attempts") or 0), reference=data.get("reference", ""),
                   reason=data.get("reason", ""), hint=data.get("hint", ""),
                   task_id=data.get("task_id", ""), queued=bool(data.get("queued")),
                   next_try=float(data.get("next_try") or 0),
                   checks=int(data.get("checks") or 0),
                   needs_person=bool(data.get("needs_person")))

    def public(self) -> dict[str, Any]:
        """What the agent's page is told (operations route and pushed messages)."""
        return {"call_id": self.call_id, "op": self.op_id, "kind": self.kind, "label": self.label,
                "state": self.state, "state_label": STATE_LABELS[self.state],
                "reference": self.reference or None, "reason": self.reason or None,
                "hint": self.hint or None, "queued": self.queued, "attempts": self.attempts,
                "next_try": self.next_try or None, "updated_at": self.updated_at,
                "needs_person": self.needs_person,
                "retryable": self.state in (FAILED, PENDING)}


@dataclass(frozen=True)
class Outcome:
    """What one attempt ended in; turned into the next state by the runner."""
    state: str
    reference: str = ""
    reason: str = ""
    hint: str = ""
    sent: dict[str, Any] = field(default_factory=dict)
    answer: str = ""
