"""A disposition applied to the dialer lead of the attempt a call was (one place for the route
and for the retries of screenpop.wrapup.pending)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from common.dialer.outcomes import Outcome
from common.dialer.schedule import LeadState, next_eligible
from common.dialer.store import (
    DialerStore,
    Disposition,
    lead_state_of,
)
from screenpop.wrapup.store import WrapUpStore


@dataclass(frozen=True)
class Database:
    store: WrapUpStore
    dialer: DialerStore


async def apply_to_lead(db: Database, attempt_id: uuid.UUID, call_id: str, *, disposition: str,
                        effect: Disposition, now: datetime, callback_at: datetime | None,
                        callback_for: str | None, by: str) -> tuple[bool, str | None]:
    """(applied, the lead's state when not applied). A final result saved again finds the lead
    done already: that counts as applied. 'dialing': the campaign has not closed the attempt
    yet (the call is live, or just ended) — apply again later. A result that replaces
    "volver a llamar" withdraws that callback; a retry puts the lead back on the campaign's
    rules."""
    await db.store.link_call(attempt_id, call_id)
    withdrawn = None
    if effect is not Disposition.CALLBACK:  # a result changed away from "volver a llamar"
        withdrawn = await db.store.withdraw_callback(attempt_id, now)
    if withdrawn is not None and effect is Disposition.RETRY:
        await _back_on_the_rules(db, withdrawn, now)
    if await db.dialer.set_disposition(attempt_id, disposition, effect, now,
                                       callback_at=callback_at, callback_agent=callback_for,
                                       by=by):
        return True, None
    current = await db.store.attempt(call_id, None)
    state = current.lead_state if current is not None else None
    if effect is Disposition.FINAL and state == "done":
        return True, None
    return False, state


async def _back_on_the_rules(db: Database, lead: dict, now: datetime) -> None:
    rules = await db.dialer.rules(lead["campaign_id"])
    last = Outcome(lead["last_outcome"]) if lead["last_outcome"] else None
    due = next_eligible(LeadState(
        lead["time_zone"], attempts=lead["attempts"], last_attempt_at=lead["last_attempt_at"],
        last_outcome=last, last_conversation_at=lead["last_conversation_at"],
        do_not_call=lead["dnc"], consent=lead["consent"]), rules, now)
    state, next_at = lead_state_of(due)
    await db.store.reschedule(lead["lead_id"], state, next_at, now)
