"""What the wrap-up reads from PostgreSQL: which dialer attempt a call is, the lead's time zone,
the disposition already saved, and the agent's callbacks ("Mis devoluciones").

The attempt of a call is found, in order, from the call's `SP_CALL` channel variable (the
dialer's attempt id), from a call id of the form `dl-<attempt hex>` (the Originate's ChannelId),
then from `dialer_attempts.call_id`.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from common.envelope import CallUpdate

DIALER_CHANNEL_PREFIX = "dl-"
RECENT_CALLBACK = timedelta(hours=12)  # a callback of a plain call stays listed this long past due
CALLBACKS_LISTED = 50


@dataclass(frozen=True)
class AttemptRef:
    attempt_id: uuid.UUID
    campaign_id: str
    campaign_name: str
    time_zone: str
    lead_state: str


def attempt_hint(call_id: str, update: CallUpdate | None) -> uuid.UUID | None:
    """The attempt id the call names itself (pure), if any."""
    for text in ((update.dialer_call_id if update is not None else None),
                 call_id[len(DIALER_CHANNEL_PREFIX):]
                 if call_id.startswith(DIALER_CHANNEL_PREFIX) else None):
        if text:
            try:
                return uuid.UUID(text)
            except ValueError:
                continue
    return None


def may_be_dialer_call(call_id: str, update: CallUpdate | None) -> bool:
    """Whether the database must be asked (pure): a call whose envelope is gone, or that carries
    a campaign or attempt. A live inbound call never waits on the database."""
    return update is None or bool(update.campaign_id) or attempt_hint(call_id, update) is not None


_ATTEMPT = """
SELECT a.attempt_id, a.campaign_id, c.name AS campaign_name, l.time_zone, l.state AS lead_state
FROM dialer_attempts a JOIN dialer_leads l USING (lead_id)
JOIN dialer_campaigns c ON c.campaign_id = a.campaign_id
WHERE a.attempt_id = $1 OR ($1::uuid IS NULL AND a.call_id = $2)
ORDER BY a.started_at DESC LIMIT 1
"""

_WITHDRAW = """
WITH closed AS (
    UPDATE dialer_callbacks SET done_at = $2 WHERE attempt_id = $1 AND done_at IS NULL
    RETURNING lead_id)
SELECT l.lead_id, l.campaign_id, l.time_zone, l.attempts, l.last_outcome, l.last_attempt_at,
       l.last_conversation_at, l.consent,
       EXISTS (SELECT 1 FROM dialer_dnc d WHERE d.phone = l.phone) AS dnc
FROM dialer_leads l JOIN closed USING (lead_id)
"""

_SAVED = """
SELECT disposition, disposition_effect, notes, callback_at, callback_for, callback_zone,
       disposition_by, disposition_at
FROM call_records WHERE call_id = $1
"""

# open dialer callbacks for the agent (or for anyone, asked by the agent), and the callbacks of
# plain calls (not dialer attempts) not long past due
_CALLBACKS = """
(SELECT cb.due_at, cb.for_agent, l.preinstallation_id, l.phone, l.time_zone,
        c.name AS campaign_name, a.call_id, 'dialer' AS source
 FROM dialer_callbacks cb JOIN dialer_leads l USING (lead_id)
 JOIN dialer_campaigns c ON c.campaign_id = l.campaign_id
 LEFT JOIN dialer_attempts a ON a.attempt_id = cb.attempt_id
 WHERE cb.done_at IS NULL AND (cb.for_agent = $1 OR (cb.for_agent IS NULL AND cb.created_by = $1)))
UNION ALL
(SELECT r.callback_at, r.callback_for, r.preinstallation_id, r.customer_number,
        coalesce(r.callback_zone, $3), NULL, r.call_id, 'call'
 FROM call_records r
 WHERE r.callback_at IS NOT NULL AND r.callback_at >= $2
   AND r.callback_done_at IS NULL
   AND (r.callback_for = $1 OR (r.callback_for IS NULL AND r.disposition_by = $1))
   AND NOT EXISTS (SELECT 1 FROM dialer_attempts a WHERE a.call_id = r.call_id))
ORDER BY 1 LIMIT $4
"""


class WrapUpStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def attempt(self, call_id: str, update: CallUpdate | None) -> AttemptRef | None:
        row = await self._pool.fetchrow(_ATTEMPT, attempt_hint(call_id, update), call_id)
        if row is None:
            return None
        return AttemptRef(row["attempt_id"], row["campaign_id"], row["campaign_name"],
                          row["time_zone"], row["lead_state"])

    async def link_call(self, attempt_id: uuid.UUID, call_id: str) -> None:
        """The attempt's call_id, when the engine had not written it yet (the QA desk and the
        next look-up join on it)."""
        await self._pool.execute("UPDATE dialer_attempts SET call_id = $2 WHERE attempt_id = $1 "
                                 "AND call_id IS NULL", attempt_id, call_id)

    async def callback_done(self, call_id: str, username: str, now: datetime) -> bool:
        """Marks the callback of a plain call done; only the agent it is for (or who left it for
        anyone) may, and only a callback the dialer does not own."""
        result = await self._pool.execute(
            "UPDATE call_records r SET callback_done_at = $3, callback_done_by = $2, "
            "updated_at = now() WHERE r.call_id = $1 AND r.callback_at IS NOT NULL "
            "AND r.callback_done_at IS NULL AND (r.callback_for = $2 OR "
            "(r.callback_for IS NULL AND r.disposition_by = $2)) AND NOT EXISTS "
            "(SELECT 1 FROM dialer_attempts a WHERE a.call_id = r.call_id)",
            call_id, username, now)
        return result.endswith(" 1")

    async def withdraw_callback(self, attempt_id: uuid.UUID, now: datetime) -> dict | None:
        """Closes the open callback this attempt's result asked for; the lead (to schedule
        again) when there was one."""
        row = await self._pool.fetchrow(_WITHDRAW, attempt_id, now)
        return dict(row) if row is not None else None

    async def reschedule(self, lead_id: int, state: str, next_at: datetime | None,
                         now: datetime) -> bool:
        """The lead back on the campaign's rules, unless it is being dialled (or closed) now."""
        result = await self._pool.execute(
            "UPDATE dialer_leads SET state = $2, next_at = $3, priority = 0, "
            "callback_agent = NULL, updated_at = $4 WHERE lead_id = $1 "
            "AND state IN ('ready', 'exhausted') AND priority = 1", lead_id, state, next_at, now)
        return result.endswith(" 1")

    async def saved(self, call_id: str) -> dict | None:
        row = await self._pool.fetchrow(_SAVED, call_id)
        return dict(row) if row is not None and row["disposition"] else None

    async def callbacks(self, username: str, now: datetime, default_zone: str) -> list[dict]:
        rows = await self._pool.fetch(_CALLBACKS, username, now - RECENT_CALLBACK, default_zone,
                                      CALLBACKS_LISTED)
        return [dict(row) for row in rows]
