"""A simulated call floor for the pacing tests: calls answered with a given probability after a
random ring, talk and wrap-up times, and the 2-second rule for an answered call with no agent.
Deterministic for a seed; every decision goes through telephony.dialer.pacing.decide."""
from __future__ import annotations

import heapq
import itertools
import random
from collections import deque
from dataclasses import dataclass

from telephony.dialer.pacing import Floor, Measured, Mode, PacingSettings, decide

RECENT = 200


@dataclass
class Result:
    dialled: int = 0
    answered: int = 0
    connected: int = 0
    abandoned: int = 0
    idle_agent_seconds: float = 0.0
    calls_placed_with_no_idle_agent: int = 0
    highest_ratio: float = 0.0

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.answered if self.answered else 0.0

    @property
    def wait_per_connected_call(self) -> float:
        return self.idle_agent_seconds / self.connected


def simulate(mode: Mode, *, agents: int = 10, hours: float = 3.0, seed: int = 1,
             answer_rates: tuple[float, ...] = (0.3,), talk_mean: float = 90.0,
             wrap_seconds: float = 10.0, settings: PacingSettings | None = None) -> Result:
    """answer_rates: the customers' answer probability in successive equal parts of the run."""
    rng = random.Random(seed)
    settings = settings or PacingSettings()
    end = hours * 3600
    result = Result()
    events: list[tuple[float, int, str, int]] = []
    order = itertools.count()
    idle, ringing, waiting = agents, 0, deque()
    recent_rings: deque[tuple[bool, float]] = deque(maxlen=RECENT)
    recent_busy: deque[float] = deque(maxlen=RECENT)
    placed_at: dict[int, float] = {}
    call_ids = itertools.count()
    now = last = 0.0

    def place(count: int) -> None:
        nonlocal ringing
        part = min(int(now / end * len(answer_rates)), len(answer_rates) - 1)
        for _ in range(count):
            call = next(call_ids)
            placed_at[call] = now
            ringing += 1
            result.dialled += 1
            if rng.random() < answer_rates[part]:
                heapq.heappush(events, (now + rng.uniform(4, 15), next(order), "answer", call))
            else:
                heapq.heappush(events, (now + 25.0, next(order), "fail", call))

    def connect() -> None:
        nonlocal idle
        idle -= 1
        result.connected += 1
        busy = rng.expovariate(1 / talk_mean) + wrap_seconds
        recent_busy.append(busy)
        heapq.heappush(events, (now + busy, next(order), "free", -1))

    def pace() -> None:
        answered = sum(1 for was_answered, _ in recent_rings if was_answered)
        measured = Measured(
            dialled=len(recent_rings), answered=answered,
            mean_answer_seconds=sum(s for was, s in recent_rings if was) / max(1, answered),
            mean_busy_seconds=sum(recent_busy) / max(1, len(recent_busy)),
            answered_30d=result.answered, abandoned_30d=result.abandoned)
        decision = decide(mode, Floor(idle, agents - idle, ringing), measured, settings)
        if decision.calls and idle == 0:
            result.calls_placed_with_no_idle_agent += decision.calls
        result.highest_ratio = max(result.highest_ratio, decision.dial_ratio)
        place(decision.calls)

    pace()
    while events:
        now, _, kind, call = heapq.heappop(events)
        if now > end:
            break
        result.idle_agent_seconds += idle * (now - last)
        last = now
        if kind in ("answer", "fail"):
            ringing -= 1
            recent_rings.append((kind == "answer", now - placed_at.pop(call)))
        if kind == "answer":
            result.answered += 1
            if idle:
                connect()
            else:
                waiting.append(call)
                heapq.heappush(events, (now + 2.0, next(order), "give_up", call))
        elif kind == "free":
            idle += 1
            if waiting:
                waiting.popleft()
                connect()
        elif kind == "give_up" and call in waiting:
            waiting.remove(call)
            result.abandoned += 1
        pace()
    return result
