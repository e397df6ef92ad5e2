"""Campaigns as the people running them see them (asyncpg): the list, state changes, settings
edits, progress and hourly figures, the records that left WispHub's pending list, and the
do-not-call list's pages. The dialer's claim and finish live in common.dialer.store.

State changes are conditional updates (`WHERE state = ANY(from)`), so two supervisors pressing
at once change it once; repeating a change that already happened is not an error.
"""
from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import asyncpg

from common.dialer.outcomes import Order
from common.dialer.store import Campaign, Mode

# Dispositions (the agent's word for how the call ended) that mean the customer was activated.
ACTIVATED_DISPOSITIONS = ("activado",)
HOURS_SHOWN = 12


class Action(enum.StrEnum):
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"


# action → (states it applies to, state it leads to)
TRANSITIONS: Mapping[Action, tuple[frozenset[str], str]] = {
    Action.START: (frozenset({"draft"}), "running"),
    Action.PAUSE: (frozenset({"running"}), "paused"),
    Action.RESUME: (frozenset({"paused"}), "running"),
    Action.STOP: (frozenset({"draft", "running", "paused"}), "stopped"),
}
STATE_LABELS = {"draft": "Borrador", "running": "En marcha", "paused": "En pausa",
                "stopped": "Detenida"}
ACTION_LABELS = {Action.START: "Iniciar", Action.PAUSE: "Pausar", Action.RESUME: "Reanudar",
                 Action.STOP: "Detener"}


class TransitionError(ValueError):
    """A state change the campaign's state does not allow; the message says why (Spanish)."""


def transition(current: str, action: Action) -> str | None:
    """The state `action` leads to from `current`; None when the campaign is there already
    (idempotent repeat). Raises TransitionError when the action does not apply."""
    allowed, target = TRANSITIONS[action]
    if current == target:
        return None
    if current not in allowed:
        raise TransitionError(
            f"No se puede {ACTION_LABELS[action].lower()} una campaña "
            f"{STATE_LABELS.get(current, current).lower()}"
            + (": una campaña detenida no vuelve a marcar; cree otra." if current == "stopped"
               else "."))
    return target


def actions_for(state: str) -> list[Action]:
    """The buttons a campaign in `state` offers."""
    return [a for a, (allowed, _) in TRANSITIONS.items() if state in allowed]


@dataclass(frozen=True)
class CampaignRow:
    campaign: Campaign
    state: str
    created_at: datetime
    updated_at: datetime

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)


@dataclass(frozen=True)
class Progress:
    """The campaign's leads, each in one segment (they add up to `total`)."""

    total: int = 0
    pending: int = 0
    in_progress: int = 0
    contacted: int = 0
    activated: int = 0
    exhausted: int = 0
    closed: int = 0       # a final disposition or an invalid number, without a conversation
    blocked: int = 0      # do-not-call or no consent
    removed: int = 0      # left WispHub's pending list
    attempts: int = 0
    answered: int = 0
    abandoned_30d: int = 0
    answered_30d: int = 0
    hourly: tuple[dict, ...] = ()   # {"hour": ISO, "calls": n, "activations": n}, oldest first

    SEGMENTS = ("pending", "in_progress", "contacted", "activated", "exhausted", "closed",
                "blocked", "removed")

    @property
    def done_share(self) -> float:
        """Share of the leads the campaign has nothing left to do with."""
        return 1 - (self.pending + self.in_progress) / self.total if self.total else 0.0

    def rates(self) -> dict[str, float | None]:
        reached = self.contacted + self.activated
        return {
            "contact_rate": self.answered / self.attempts if self.attempts else None,
            "activation_rate": self.activated / reached if reached else None,
            "abandon_rate_30d": (self.abandoned_30d / self.answered_30d
                                 if self.answered_30d else None),
        }

    def to_dict(self) -> dict:
        return {**{name: getattr(self, name) for name in ("total", *self.SEGMENTS, "attempts",
                                                            "answered")},
                **self.rates(), "hourly": list(self.hourly)}


PROGRESS = """
WITH activated AS (
    SELECT DISTINCT a.lead_id FROM dialer_attempts a
    LEFT JOIN call_records r ON r.call_id = a.call_id
    WHERE a.campaign_id = $1
      AND (a.disposition = ANY($2::text[]) OR r.activated_at IS NOT NULL)
), leads AS (
    SELECT CASE
        WHEN x.lead_id IS NOT NULL THEN 'activated'
        WHEN l.state = 'dialing' THEN 'in_progress'
        WHEN l.state = 'removed' THEN 'removed'
        WHEN l.state = 'blocked' THEN 'blocked'
        WHEN l.last_conversation_at IS NOT NULL THEN 'contacted'
        WHEN l.state = 'ready' THEN 'pending'
        WHEN l.state = 'exhausted' THEN 'exhausted'
        ELSE 'closed' END AS segment
    FROM dialer_leads l LEFT JOIN activated x USING (lead_id)
    WHERE l.campaign_id = $1
), hours AS (
    SELECT date_trunc('hour', a.started_at) AS hour, count(*) AS calls,
           count(*) FILTER (WHERE a.disposition = ANY($2::text[])
                            OR r.activated_at IS NOT NULL) AS activations
    FROM dialer_attempts a LEFT JOIN call_records r ON r.call_id = a.call_id
    WHERE a.campaign_id = $1 AND a.started_at >= $3
    GROUP BY 1
)
SELECT (SELECT json_object_agg(segment, n) FROM
            (SELECT segment, count(*) AS n FROM leads GROUP BY segment) s) AS segments,
       (SELECT json_agg(json_build_object('hour', hour, 'calls', calls,
                                          'activations', activations) ORDER BY hour)
        FROM hours) AS hourly,
       a.attempts, a.answered, a.answered_30d, a.abandoned_30d
FROM (SELECT count(*) FILTER (WHERE outcome IS NOT NULL AND outcome NOT IN
                              ('skipped', 'agent_rejected', 'interrupted')) AS attempts,
             count(*) FILTER (WHERE answered) AS answered,
             count(*) FILTER (WHERE answered AND started_at >= $4) AS answered_30d,
             count(*) FILTER (WHERE abandoned AND started_at >= $4) AS abandoned_30d
      FROM dialer_attempts WHERE campaign_id = $1) a
"""


@dataclass(frozen=True)
class Contact:
    """What PostgreSQL knows of one record's calls, for the campaign filter."""

    contacted: bool = False
    last_disposition: str | None = None


@dataclass(frozen=True)
class DncEntry:
    phone: str
    source: str
    note: str | None
    added_by: str | None
    added_at: datetime


@dataclass
class DncPage:
    entries: list[DncEntry] = field(default_factory=list)
    total: int = 0


class CampaignBook:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    # --- campaigns -------------------------------------------------------------------------

    async def list(self) -> list[CampaignRow]:
        rows = await self._pool.fetch("SELECT * FROM dialer_campaigns ORDER BY "
                                      "state = 'stopped', created_at DESC")
        return [_row(row) for row in rows]

    async def get(self, campaign_id: str) -> CampaignRow | None:
        row = await self._pool.fetchrow("SELECT * FROM dialer_campaigns WHERE campaign_id = $1",
                                        campaign_id)
        return _row(row) if row is not None else None

    async def exists(self, campaign_id: str) -> bool:
        return await self._pool.fetchval("SELECT EXISTS (SELECT 1 FROM dialer_campaigns WHERE "
                                         "campaign_id = $1)", campaign_id)

    async def update(self, campaign: Campaign) -> bool:
        """Replaces the campaign's settings (its state and leads are kept)."""
        campaign.rules(frozenset())  # refuses bad windows or retry settings before storing them
        result = await self._pool.execute(
            "UPDATE dialer_campaigns SET name = $2, mode = $3, call_order = $4, "
            "max_attempts = $5, settings = $6::jsonb, caller_id = $7, queue = $8, agents = $9, "
            "updated_at = now() WHERE campaign_id = $1", campaign.campaign_id, campaign.name,
            str(campaign.mode), str(campaign.call_order), campaign.max_attempts,
            json.dumps(campaign.settings), campaign.caller_id, campaign.queue,
            list(campaign.agents))
        return result.endswith(" 1")

    async def reschedule_untried(self, campaign_id: str, now: datetime) -> int:
        """After an edit, leads never tried yet become due now: the claim only takes them in a
        zone whose (new) window is open, so wider hours apply at once, not at the old window's
        next opening. Leads with a retry delay or a callback keep their time."""
        result = await self._pool.execute(
            "UPDATE dialer_leads SET next_at = $2, updated_at = $2 WHERE campaign_id = $1 "
            "AND state = 'ready' AND priority = 0 AND attempts = 0 AND last_attempt_at IS NULL "
            "AND next_at > $2", campaign_id, now)
        return int(result.split()[-1])

    async def merge_settings(self, campaign_id: str, values: Mapping[str, object]) -> None:
        await self._pool.execute("UPDATE dialer_campaigns SET settings = settings || $2::jsonb "
                                 "WHERE campaign_id = $1", campaign_id, json.dumps(values))

    async def change_state(self, campaign_id: str, action: Action) -> tuple[str, bool]:
        """Applies `action`; returns (state now, whether this call changed it). LookupError
        for an unknown campaign, TransitionError when the action does not apply."""
        allowed, target = TRANSITIONS[action]
        row = await self._pool.fetchrow(
            "WITH changed AS (UPDATE dialer_campaigns SET state = $3, updated_at = now() "
            "WHERE campaign_id = $1 AND state = ANY($2::text[]) RETURNING state) "
            "SELECT (SELECT state FROM changed) AS changed, "
            "(SELECT state FROM dialer_campaigns WHERE campaign_id = $1) AS before",
            campaign_id, sorted(allowed), target)
        if row["changed"] is not None:
            return row["changed"], True
        if row["before"] is None:
            raise LookupError(f"No existe la campaña {campaign_id!r}.")
        # not changed: it is there already, the action does not apply, or another request
        # changed it while this one waited for the row (read it again to tell)
        now_state = await self._pool.fetchval(
            "SELECT state FROM dialer_campaigns WHERE campaign_id = $1", campaign_id)
        transition(now_state, action)  # raises when the action does not apply
        return now_state, False

    async def progress(self, campaign_id: str, now: datetime) -> Progress:
        """One query: the lead segments, attempts and answers, the last HOURS_SHOWN hours."""
        row = await self._pool.fetchrow(PROGRESS, campaign_id, list(ACTIVATED_DISPOSITIONS),
                                        now - timedelta(hours=HOURS_SHOWN - 1, minutes=now.minute,
                                                        seconds=now.second,
                                                        microseconds=now.microsecond),
                                        now - timedelta(days=30))
        segments = json.loads(row["segments"]) if row["segments"] else {}
        hourly = json.loads(row["hourly"]) if row["hourly"] else []
        counts = {name: int(segments.get(name, 0)) for name in Progress.SEGMENTS}
        return Progress(total=sum(counts.values()), **counts, attempts=row["attempts"],
                        answered=row["answered"], answered_30d=row["answered_30d"],
                        abandoned_30d=row["abandoned_30d"], hourly=tuple(hourly))

    # --- the records a filter picks ----------------------------------------------------------

    async def contacts(self, preinstallation_ids: Sequence[str]) -> dict[str, Contact]:
        """Per record: whether anyone ever talked to the customer (a call answered or a dialer
        conversation) and the last disposition any call of it got."""
        rows = await self._pool.fetch("""
            WITH ids AS MATERIALIZED (SELECT DISTINCT unnest($1::text[]) AS id),
            talks AS (
                SELECT r.preinstallation_id AS id, r.answered_at IS NOT NULL AS talked,
                       COALESCE(r.answered_at, r.ring_at, r.created_at) AS at, r.disposition
                FROM ids JOIN call_records r ON r.preinstallation_id = ids.id
                UNION ALL
                SELECT l.preinstallation_id, a.answered, COALESCE(a.answered_at, a.started_at),
                       a.disposition
                FROM ids JOIN dialer_leads l ON l.preinstallation_id = ids.id
                JOIN dialer_attempts a ON a.lead_id = l.lead_id
                WHERE a.answered OR a.disposition IS NOT NULL
            )
            SELECT id, bool_or(talked) AS contacted,
                   (array_agg(disposition ORDER BY at DESC NULLS LAST)
                        FILTER (WHERE disposition IS NOT NULL))[1] AS last_disposition
            FROM talks GROUP BY id""", list(preinstallation_ids))
        return {row["id"]: Contact(bool(row["contacted"]), row["last_disposition"])
                for row in rows}

    async def dispositions(self) -> list[str]:
        """Dispositions calls have had, for the filter's choices."""
        rows = await self._pool.fetch(
            "SELECT disposition FROM call_records WHERE disposition IS NOT NULL UNION "
            "SELECT disposition FROM dialer_attempts WHERE disposition IS NOT NULL "
            "ORDER BY 1 LIMIT 100")
        return [row["disposition"] for row in rows]

    async def remove_not_pending(self, pending_ids: Iterable[str]) -> int:
        """Records no longer in WispHub's pending list leave every campaign (state 'removed');
        a lead being dialled now is left to its call and removed by the next sync."""
        result = await self._pool.execute(
            "UPDATE dialer_leads SET state = 'removed', next_at = NULL, priority = 0, "
            "callback_agent = NULL, updated_at = now() "
            "WHERE state IN ('ready', 'exhausted', 'blocked') "
            "AND NOT (preinstallation_id = ANY($1::text[]))", list(pending_ids))
        return int(result.split()[-1])

    async def remove_record(self, preinstallation_id: str) -> int:
        result = await self._pool.execute(
            "UPDATE dialer_leads SET state = 'removed', next_at = NULL, priority = 0, "
            "callback_agent = NULL, updated_at = now() "
            "WHERE state IN ('ready', 'exhausted', 'blocked') AND preinstallation_id = $1",
            preinstallation_id)
        return int(result.split()[-1])

    # --- do-not-call -------------------------------------------------------------------------

    async def dnc_page(self, search: str = "", *, offset: int = 0, limit: int = 50) -> DncPage:
        pattern = f"%{_like(search.strip())}%"
        rows = await self._pool.fetch(
            "SELECT *, count(*) OVER () AS total FROM dialer_dnc WHERE $1 = '%%' OR "
            "phone LIKE $1 OR note ILIKE $1 OR source ILIKE $1 "
            "ORDER BY added_at DESC, phone LIMIT $2 OFFSET $3", pattern, limit, offset)
        if rows:
            total = rows[0]["total"]
        elif offset:  # a page past the end: still say how many there are
            total = await self._pool.fetchval(
                "SELECT count(*) FROM dialer_dnc WHERE $1 = '%%' OR phone LIKE $1 OR "
                "note ILIKE $1 OR source ILIKE $1", pattern)
        else:
            total = 0
        return DncPage([DncEntry(r["phone"], r["source"], r["note"], r["added_by"],
                                 r["added_at"]) for r in rows], total)

    async def blocked_leads(self) -> int:
        return await self._pool.fetchval("SELECT count(*) FROM dialer_leads "
                                         "WHERE state = 'blocked'")


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _row(row: asyncpg.Record) -> CampaignRow:
    campaign = Campaign(row["campaign_id"], row["name"], Mode(row["mode"]),
                        Order(row["call_order"]), row["max_attempts"],
                        json.loads(row["settings"]), row["caller_id"], row["queue"],
                        tuple(row["agents"]))
    return CampaignRow(campaign, row["state"], row["created_at"], row["updated_at"])
