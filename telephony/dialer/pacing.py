"""How many calls to place now (pure), per campaign mode.

- preview: no call by itself; one record on the screen of each idle agent, who presses
  *llamar* or *saltar*;
- progressive: one call per idle assigned agent, counting the calls already ringing;
- predictive: as many calls as keep the expected share of abandoned calls (answered with no agent
  within 2 s) under the allowance, given the measured answer rate and how likely an agent who is
  talking frees up before the new calls are answered (mean time to answer against mean talk
  and wrap-up time).

No mode places a call when no assigned agent is idle: an agent about to free up only adds
capacity to calls placed for an idle one. The allowance follows the campaign's measured 30-day
abandonment rate: below the target it is the target, above it shrinks, and at the cap it is zero
(progressive pacing, which cannot abandon while its agents stay available).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from common.dialer.store import Mode


@dataclass(frozen=True)
class Floor:
    """The campaign's agents and calls right now."""

    idle_agents: int          # assigned, signed in, available and not reserved for a call
    talking_agents: int = 0   # assigned agents on a call (or in wrap-up) who will free up
    calls_ringing: int = 0    # placed, no outcome and no agent yet
    previews_shown: int = 0   # preview: records already on an idle agent's screen


@dataclass(frozen=True)
class Measured:
    """What the campaign's own calls showed."""

    dialled: int = 0                  # recent attempts with a known outcome
    answered: int = 0                 # of those, answered by a person
    mean_answer_seconds: float = 0.0  # placing a call → its answer, over the answered ones
    mean_busy_seconds: float = 0.0    # talk + wrap-up per connected call
    answered_30d: int = 0
    abandoned_30d: int = 0

    @property
    def abandon_rate_30d(self) -> float:
        return self.abandoned_30d / self.answered_30d if self.answered_30d else 0.0


@dataclass(frozen=True)
class Decision:
    calls: int                 # Originates to write now
    previews: int              # records to put on agents' screens (preview mode)
    dial_ratio: float          # calls ringing per idle agent once these are placed
    expected_abandon: float    # the model's share of the answered calls that would find no agent


@dataclass(frozen=True)
class PacingSettings:
    abandon_cap: float = 0.03      # regulators' limit over the last 30 days
    target_share: float = 0.7      # aim below the cap: the model is an estimate
    warmup_attempts: int = 30      # before this many outcomes, predictive paces progressively
    max_ratio: float = 5.0         # never more than this many ringing calls per idle agent


def decide(mode: Mode, floor: Floor, measured: Measured,
           settings: PacingSettings = PacingSettings()) -> Decision:
    idle = max(0, floor.idle_agents)
    if mode is Mode.PREVIEW:
        return Decision(0, max(0, idle - floor.previews_shown), 0.0, 0.0)
    if idle == 0:
        return Decision(0, 0, 0.0, 0.0)
    progressive = max(0, idle - floor.calls_ringing)
    if mode is Mode.PROGRESSIVE or measured.dialled < settings.warmup_attempts \
            or measured.answered == 0:
        return _decision(progressive, floor, idle, 0.0)
    answer_rate = measured.answered / measured.dialled
    frees_up = 0.0
    if measured.mean_busy_seconds > 0:
        frees_up = 1.0 - math.exp(-measured.mean_answer_seconds / measured.mean_busy_seconds)
    allowance = _allowance(measured.abandon_rate_30d, settings)
    most = max(progressive, math.floor(settings.max_ratio * idle) - floor.calls_ringing)

    def abandon_with(new_calls: int) -> float:
        return expected_abandon_share(floor.calls_ringing + new_calls, answer_rate, idle,
                                      floor.talking_agents, frees_up)

    low, high = progressive, most  # abandon share grows with the calls: largest k within it
    while low < high:
        middle = (low + high + 1) // 2
        if abandon_with(middle) <= allowance:
            low = middle
        else:
            high = middle - 1
    return _decision(low, floor, idle, abandon_with(low))


def _decision(calls: int, floor: Floor, idle: int, abandon: float) -> Decision:
    return Decision(calls, 0, (floor.calls_ringing + calls) / idle, abandon)


def _allowance(measured_rate: float, settings: PacingSettings) -> float:
    target = settings.abandon_cap * settings.target_share
    if measured_rate >= settings.abandon_cap:
        return 0.0
    return max(0.0, min(target, 2 * target - measured_rate))


def expected_abandon_share(calls: int, answer_rate: float, idle: int, talking: int,
                           frees_up: float) -> float:
    """E[answered calls beyond the agents free for them] / E[answered calls], with answered
    calls ~ Binomial(calls, answer_rate) and free agents = idle + Binomial(talking, frees_up)."""
    if calls <= idle or answer_rate <= 0:
        return 0.0  # every answered call finds an idle agent
    answered_pmf = _binomial_pmf(calls, answer_rate, upto=idle + talking)
    expected_answered = calls * answer_rate
    excess = 0.0
    for freed, p_freed in enumerate(_binomial_pmf(talking, frees_up, upto=talking)):
        capacity = idle + freed
        # E[max(0, X - c)] = E[X] - c + E[max(0, c - X)]
        shortfall = sum((capacity - x) * p for x, p in enumerate(answered_pmf[:capacity]))
        excess += p_freed * max(0.0, expected_answered - capacity + shortfall)
    return excess / expected_answered


def _binomial_pmf(n: int, p: float, *, upto: int) -> list[float]:
    """P(X = k) for k = 0..min(n, upto), by the recurrence on k."""
    if p <= 0:
        return [1.0] + [0.0] * min(n, upto)
    if p >= 1:
        pmf = [0.0] * (min(n, upto) + 1)
        if upto >= n:
            pmf[n] = 1.0
        return pmf
    pmf = [(1 - p) ** n]
    ratio = p / (1 - p)
    for k in range(1, min(n, upto) + 1):
        pmf.append(pmf[-1] * (n - k + 1) / k * ratio)
    return pmf
