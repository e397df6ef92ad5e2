"""When a lead may be dialled next (pure): do-not-call and consent first, then a callback at its
time, then max attempts, the retry delay of the last outcome, the rule that a number that had a
conversation today waits for tomorrow, and always the customer's calling window."""
from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

from common.dialer.outcomes import Outcome
from common.dialer.windows import CallingWindows

DEFAULT_DELAYS = MappingProxyType({
    Outcome.NO_ANSWER: timedelta(hours=2),
    Outcome.BUSY: timedelta(minutes=20),
    Outcome.FAILED: timedelta(minutes=30),
    Outcome.MACHINE: timedelta(hours=4),
    Outcome.ABANDONED: timedelta(hours=1),
    Outcome.AGENT_REJECTED: timedelta(minutes=2),
    Outcome.SKIPPED: timedelta(hours=1),
    Outcome.INTERRUPTED: timedelta(minutes=10),
    # a conversation without a final disposition or a callback ("interesado") waits only for
    # the next local day, which every conversation does anyway
    Outcome.CONNECTED: timedelta(0),
})
# Outcomes after which the lead is never dialled again by the campaign.
CLOSING = frozenset({Outcome.INVALID_NUMBER})


class RetryConfigError(ValueError):
    """A retry setting that cannot be used; the message names it (Spanish)."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    delays: Mapping[Outcome, timedelta] = field(default_factory=lambda: DEFAULT_DELAYS)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise RetryConfigError("«max_attempts» debe ser al menos 1")

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> RetryPolicy:
        """{"max_attempts": 5, "retry_minutes": {"busy": 20, "no_answer": 120, …}}"""
        max_attempts = config.get("max_attempts", 5)
        if not isinstance(max_attempts, int) or isinstance(max_attempts, bool):
            raise RetryConfigError("«max_attempts» debe ser un número entero")
        delays = dict(DEFAULT_DELAYS)
        raw = config.get("retry_minutes", {})
        if not isinstance(raw, Mapping):
            raise RetryConfigError("«retry_minutes» debe ser un objeto resultado → minutos")
        for name, minutes in raw.items():
            try:
                outcome = Outcome(name)
            except ValueError:
                raise RetryConfigError(f"resultado desconocido en «retry_minutes»: {name!r}"
                                       ) from None
            if not isinstance(minutes, int | float) or isinstance(minutes, bool) or minutes < 0:
                raise RetryConfigError(f"«retry_minutes.{name}» debe ser un número ≥ 0")
            delays[outcome] = timedelta(minutes=minutes)
        return cls(max_attempts, MappingProxyType(delays))


@dataclass(frozen=True)
class Rules:
    """What a campaign decides about when its leads are called."""

    windows: CallingWindows
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass(frozen=True)
class LeadState:
    zone: str
    attempts: int = 0
    last_attempt_at: datetime | None = None
    last_outcome: Outcome | None = None
    last_conversation_at: datetime | None = None
    callback_at: datetime | None = None
    do_not_call: bool = False
    consent: bool = True
    closed: bool = False  # a final disposition (activado, no le interesa, número equivocado…)


class Why(enum.StrEnum):
    NEW = "new"
    RETRY = "retry"
    CALLBACK = "callback"
    NEXT_DAY = "next_day"          # had a conversation today
    DO_NOT_CALL = "do_not_call"
    NO_CONSENT = "no_consent"
    EXHAUSTED = "exhausted"
    CLOSED = "closed"
    NO_WINDOW = "no_window"        # the campaign's windows never open


@dataclass(frozen=True)
class Eligibility:
    at: datetime | None   # UTC; None: never (see why)
    why: Why

    @property
    def is_callback(self) -> bool:
        return self.why is Why.CALLBACK


def next_eligible(lead: LeadState, rules: Rules, now: datetime) -> Eligibility:
    if lead.do_not_call:
        return Eligibility(None, Why.DO_NOT_CALL)
    if not lead.consent:
        return Eligibility(None, Why.NO_CONSENT)
    zone = ZoneInfo(lead.zone)
    if lead.callback_at is not None:
        return _within_window(rules, zone, max(lead.callback_at, now), Why.CALLBACK)
    if lead.closed or lead.last_outcome in CLOSING:
        return Eligibility(None, Why.CLOSED)
    if lead.attempts >= rules.retry.max_attempts:
        return Eligibility(None, Why.EXHAUSTED)
    earliest, why = now, Why.NEW
    if lead.last_attempt_at is not None and lead.last_outcome is not None:
        earliest = max(now, lead.last_attempt_at + rules.retry.delays[lead.last_outcome])
        why = Why.RETRY
    if lead.last_conversation_at is not None:
        local_day = lead.last_conversation_at.astimezone(zone).date()
        tomorrow = datetime.combine(local_day + timedelta(days=1), datetime.min.time(),
                                    tzinfo=zone)
        if tomorrow > earliest:
            earliest, why = tomorrow, Why.NEXT_DAY
    return _within_window(rules, zone, earliest, why)


def _within_window(rules: Rules, zone: ZoneInfo, earliest: datetime, why: Why) -> Eligibility:
    opens = rules.windows.next_open(earliest, zone)
    return Eligibility(opens, why) if opens is not None else Eligibility(None, Why.NO_WINDOW)
