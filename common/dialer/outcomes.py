"""One meaningful outcome per attempt from what Asterisk reported about it.

Originate's Reason alone is not enough (it says 0 or 1 for a rejected call, an unknown number and
an agent that is not registered alike): the customer leg's Hangup cause is the most specific
fact, then its DialEnd DialStatus, then the Reason. Recorded in
shared/fixtures/ami/dialer: busy = DialStatus BUSY / Reason 5 / cause 17; no answer = Reason 3 /
cause 19 with no DialEnd at all; unknown number = DialStatus NOANSWER / Reason 0 / cause 1.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

# Regulators count a call as abandoned when the customer answered (or, with answering-machine
# detection, was found to be a person) and no agent was on the line within two seconds.
ABANDON_AFTER_SECONDS = 2.0


class Outcome(enum.StrEnum):
    CONNECTED = "connected"          # the customer talked to an agent
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"                # congestion, channel unavailable, any other network failure
    INVALID_NUMBER = "invalid_number"
    MACHINE = "machine"              # answering-machine detection heard a machine
    ABANDONED = "abandoned"          # the customer answered and no agent took the call
    AGENT_REJECTED = "agent_rejected"  # agent first: the agent's phone failed or did not answer
    SKIPPED = "skipped"              # preview: the agent pressed «saltar»
    INTERRUPTED = "interrupted"      # the dialer that placed it died before the outcome was known

    @property
    def dialled_customer(self) -> bool:
        """Whether the customer's line was (or may have been) rung: these count as attempts."""
        return self not in (Outcome.AGENT_REJECTED, Outcome.SKIPPED)


class Order(enum.StrEnum):
    AGENT_FIRST = "agent_first"
    CUSTOMER_FIRST = "customer_first"


INVALID_NUMBER_CAUSES = frozenset({1, 2, 3, 22, 28})
BUSY_CAUSES = frozenset({17, 21})
NO_ANSWER_CAUSES = frozenset({18, 19})
FAILED_CAUSES = frozenset({27, 31, 34, 38, 41, 42, 44, 47, 58, 88})
DIAL_STATUSES = {"BUSY": Outcome.BUSY, "NOANSWER": Outcome.NO_ANSWER, "CANCEL": Outcome.NO_ANSWER,
                 "CONGESTION": Outcome.FAILED, "CHANUNAVAIL": Outcome.FAILED}
# OriginateResponse Reason (AST_CONTROL_*): 1 hung up, 3 ringing timed out, 5 busy, 8 congestion.
REASONS = {1: Outcome.NO_ANSWER, 3: Outcome.NO_ANSWER, 5: Outcome.BUSY, 8: Outcome.FAILED}


@dataclass
class AttemptFacts:
    """What the AMI stream said about one attempt; times are AMI Timestamps (epoch seconds)."""

    order: Order
    originate: str | None = None     # OriginateResponse Response (Success/Failure), or "Error"
    reason: int | None = None
    customer_dial_status: str | None = None
    customer_hangup_cause: int | None = None
    customer_answered_at: float | None = None
    amd_status: str | None = None
    amd_decided_at: float | None = None
    agent_connected_at: float | None = None
    ended_at: float | None = None


@dataclass(frozen=True)
class AttemptResult:
    outcome: Outcome
    abandoned: bool
    answered_at: float | None
    agent_connected_at: float | None
    ended_at: float | None
    detail: str


def classify(facts: AttemptFacts) -> AttemptResult:
    outcome = _outcome(facts)
    greeted_at = facts.customer_answered_at
    if facts.amd_status == "HUMAN" and facts.amd_decided_at is not None:
        greeted_at = facts.amd_decided_at
    abandoned = outcome in (Outcome.ABANDONED, Outcome.CONNECTED) and greeted_at is not None and (
        facts.agent_connected_at is None
        or facts.agent_connected_at - greeted_at > ABANDON_AFTER_SECONDS)
    if facts.order is Order.AGENT_FIRST:
        abandoned = False  # the agent was on the line before the customer was rung
    detail = (f"Originate={facts.originate} Reason={facts.reason} "
              f"DialStatus={facts.customer_dial_status} Cause={facts.customer_hangup_cause}"
              + (f" AMD={facts.amd_status}" if facts.amd_status else ""))
    return AttemptResult(outcome, abandoned, facts.customer_answered_at, facts.agent_connected_at,
                         facts.ended_at, detail)


def _outcome(facts: AttemptFacts) -> Outcome:
    if facts.order is Order.AGENT_FIRST:
        if facts.originate != "Success":
            return Outcome.AGENT_REJECTED
        if facts.customer_answered_at is not None:
            return Outcome.CONNECTED
        if facts.customer_dial_status is None and facts.customer_hangup_cause is None:
            return Outcome.AGENT_REJECTED  # the agent hung up before the customer was rung
        return _unanswered(facts, reason=None)
    if facts.customer_answered_at is not None:
        if facts.amd_status == "MACHINE":
            return Outcome.MACHINE
        return Outcome.CONNECTED if facts.agent_connected_at is not None else Outcome.ABANDONED
    return _unanswered(facts, reason=facts.reason)


def _unanswered(facts: AttemptFacts, *, reason: int | None) -> Outcome:
    cause = facts.customer_hangup_cause
    if cause in INVALID_NUMBER_CAUSES:
        return Outcome.INVALID_NUMBER
    if cause in BUSY_CAUSES:
        return Outcome.BUSY
    if cause in NO_ANSWER_CAUSES:
        return Outcome.NO_ANSWER
    if cause in FAILED_CAUSES:
        return Outcome.FAILED
    if facts.customer_dial_status in DIAL_STATUSES:
        return DIAL_STATUSES[facts.customer_dial_status]
    return REASONS.get(reason, Outcome.FAILED) if reason is not None else Outcome.FAILED
