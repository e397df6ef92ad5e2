"""A disposition applied to the dialer lead of the attempt a call was (one place for the route
and for the retries of screenpop.wrapup.pending)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from common.dialer.store import DialerStore, Disposition
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
    yet (the call is live, or just ended) — apply again later."""
    await db.store.link_call(attempt_id, call_id)
    if await db.dialer.set_disposition(attempt_id, disposition, effect, now,
                                       callback_at=callback_at, callback_agent=callback_for,
                                       by=by):
        return True, None
    current = await db.store.attempt(call_id, None)
    state = current.lead_state if current is not None else None
    if effect is Disposition.FINAL and state == "done":
        return True, None
    return False, state
