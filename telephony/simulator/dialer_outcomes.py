"""Which recorded outcome a dialer Originate gets (pure: seeded randomness, no I/O).

Outcomes are drawn by weight (`connected=60,no_answer=15,...`) from a seeded generator, so a run
is repeatable; a test can force the outcome of the next Originate to a number (once) or set a rule
for a number (every time). Weights that cannot apply to the call's order are left out of that
draw: answering-machine detection only exists customer first with `Exten: amd`, and an agent who
cannot be reached or does not answer only agent first.
"""
from __future__ import annotations

import random
from collections import deque
from collections.abc import Mapping

from common.dialer.outcomes import Order

CONNECTED = "connected"
NO_ANSWER = "no_answer"
BUSY = "busy"
NOT_FOUND = "not_found"
MACHINE = "machine"
AGENT_UNREACHABLE = "agent_unreachable"
AGENT_NO_ANSWER = "agent_no_answer"  # the agent's phone rings past the Originate's Timeout
OUTCOMES = (CONNECTED, NO_ANSWER, BUSY, NOT_FOUND, MACHINE, AGENT_UNREACHABLE, AGENT_NO_ANSWER)
DEFAULT_WEIGHTS = {CONNECTED: 60, NO_ANSWER: 15, BUSY: 10, NOT_FOUND: 5, MACHINE: 5,
                   AGENT_UNREACHABLE: 5}


class OutcomeError(ValueError):
    """A weight list or an outcome name the simulator does not know."""


def check_outcome(name: str) -> str:
    if name not in OUTCOMES:
        raise OutcomeError(f"resultado desconocido {name!r}; use uno de: {', '.join(OUTCOMES)}")
    return name


def parse_weights(text: str) -> dict[str, float]:
    """`connected=60,busy=10` → {"connected": 60.0, "busy": 10.0} (omitted outcomes weigh 0)."""
    weights: dict[str, float] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        name, sep, raw = item.partition("=")
        if not sep:
            raise OutcomeError(f"falta «=peso» en {item.strip()!r} (p. ej. connected=60)")
        try:
            weight = float(raw)
        except ValueError:
            raise OutcomeError(f"el peso de {name.strip()!r} no es un número: {raw!r}") from None
        weights[check_outcome(name.strip())] = weight
    return check_weights(weights)


def check_weights(weights: Mapping[str, object]) -> dict[str, float]:
    checked: dict[str, float] = {}
    for name, weight in weights.items():
        check_outcome(name)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
            raise OutcomeError(f"el peso de {name!r} debe ser un número >= 0")
        checked[name] = float(weight)
    if not any(checked.values()):
        raise OutcomeError("al menos un resultado debe tener peso mayor que 0")
    return checked


def applicable(outcome: str, order: Order, *, amd: bool) -> bool:
    if outcome == MACHINE:
        return order is Order.CUSTOMER_FIRST and amd
    if outcome in (AGENT_UNREACHABLE, AGENT_NO_ANSWER):
        return order is Order.AGENT_FIRST
    return True


class OutcomePicker:
    def __init__(self, weights: Mapping[str, float] | None = None, *, seed: int | None = None
                 ) -> None:
        self.weights = check_weights(dict(weights or DEFAULT_WEIGHTS))
        self.seed = seed
        self._rng = random.Random(seed)
        self._next: dict[str, deque[str]] = {}
        self._rules: dict[str, str] = {}

    def reseed(self, seed: int | None) -> None:
        self.seed = seed
        self._rng = random.Random(seed)

    def force_next(self, number: str, outcome: str) -> None:
        """The next Originate to `number` gets `outcome` (several calls queue up in order)."""
        self._next.setdefault(number, deque()).append(check_outcome(outcome))

    def set_rule(self, number: str, outcome: str | None) -> None:
        """Every Originate to `number` gets `outcome` (None removes the rule)."""
        if outcome is None:
            self._rules.pop(number, None)
        else:
            self._rules[number] = check_outcome(outcome)

    def state(self) -> dict[str, object]:
        return {"weights": dict(self.weights), "seed": self.seed,
                "next": {n: list(q) for n, q in self._next.items() if q},
                "rules": dict(self._rules)}

    def pick(self, number: str, order: Order, *, amd: bool) -> str:
        queued = self._next.get(number)
        if queued:
            outcome = queued.popleft()
            if not queued:
                del self._next[number]
            return outcome
        if number in self._rules:
            return self._rules[number]
        names = [n for n in OUTCOMES if self.weights.get(n, 0) > 0 and applicable(n, order, amd=amd)]
        if not names:
            return CONNECTED
        return self._rng.choices(names, weights=[self.weights[n] for n in names])[0]
