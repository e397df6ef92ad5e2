"""The dialer's durable state in PostgreSQL (asyncpg): campaigns, leads, attempts, callbacks and
the do-not-call list, and the claim of the next lead to dial.

A claim picks candidates with `FOR UPDATE SKIP LOCKED` and takes them with a conditional update
(`state = 'ready' AND claim_token IS NULL`), so a row another worker took in between is not taken
twice (the update names its rows by `lead_id = ANY(ARRAY(…))`, which stays an index lookup in a
cached generic plan, where a join on the candidates became a sequential scan); a partial unique index allows one lead per phone number in 'dialing' at any moment. The
claim token is the attempt's id: every later write for that attempt names it, so a dialer whose
lease ran out (and whose lead was reclaimed) cannot overwrite what happened next.
"""
from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from common.dialer.dnc import BadRow, parse_dnc_csv
from common.dialer.outcomes import AttemptResult, Order, Outcome
from common.dialer.schedule import (
    Eligibility,
    LeadState,
    RetryPolicy,
    Rules,
    Why,
    next_eligible,
)
from common.dialer.windows import CallingWindows
from common.dialer.zones import zone_for
from common.phones import to_e164

CLAIM_RETRIES = 5


class Mode(enum.StrEnum):
    PREVIEW = "preview"
    PROGRESSIVE = "progressive"
    PREDICTIVE = "predictive"


class Disposition(enum.StrEnum):
    """What a disposition the agent chose does to the lead."""

    FINAL = "final"        # activado, no le interesa, número equivocado: never again
    RETRY = "retry"        # interesado, buzón…: the normal rules decide
    CALLBACK = "callback"  # volver a llamar el …: at the agreed time, first


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    name: str
    mode: Mode
    call_order: Order = Order.AGENT_FIRST
    max_attempts: int = 5
    settings: Mapping[str, object] = field(default_factory=dict)
    caller_id: str | None = None
    queue: str | None = None
    agents: tuple[str, ...] = ()

    def rules(self, calendar: Container[date] | None = None) -> Rules:
        """The campaign's windows and retry policy; `settings` holds {"windows": {…},
        "retry_minutes": {…}} (see CallingWindows.from_config and RetryPolicy.from_config)."""
        windows = self.settings.get("windows", {})
        retry = {"max_attempts": self.max_attempts,
                 "retry_minutes": self.settings.get("retry_minutes", {})}
        return Rules(CallingWindows.from_config(windows, calendar),
                     RetryPolicy.from_config(retry))


@dataclass(frozen=True)
class NewLead:
    preinstallation_id: str
    phone: str                    # as WispHub has it; normalised here
    state: str | None = None      # Mexican state, for the time zone
    zone: str | None = None       # IANA zone when the record knows it
    consent: bool = True


@dataclass
class LeadImport:
    added: int = 0
    already_there: int = 0
    blocked_by_dnc: int = 0
    bad_phones: list[tuple[str, str]] = field(default_factory=list)  # (preinstallation, phone)


@dataclass(frozen=True)
class Claim:
    lead_id: int
    attempt_id: uuid.UUID
    campaign_id: str
    preinstallation_id: str
    phone: str
    zone: str
    attempts: int
    last_conversation_at: datetime | None
    callback_at: datetime | None
    callback_agent: str | None
    lease_until: datetime

    @property
    def channel_id(self) -> str:
        """The Originate ChannelId, so every AMI event of the call names the attempt."""
        return f"dl-{self.attempt_id.hex}"


@dataclass
class DncImport:
    added: int = 0
    already_there: int = 0
    repeated_in_file: int = 0
    bad_rows: list[BadRow] = field(default_factory=list)
    leads_blocked: int = 0


@dataclass(frozen=True)
class AbandonStats:
    answered: int
    abandoned: int

    @property
    def rate(self) -> float:
        return self.abandoned / self.answered if self.answered else 0.0


# What makes a lead a candidate (alias l): due, in a zone `zone_match` allows, under max
# attempts (a callback even past them), for this agent when the callback names one, with consent,
# its number neither being dialled nor on the do-not-call list. Best first: callbacks, then the
# longest due. The OFFSET 0 keeps the number check a lookup of that number in the one-call-per-
# number index: as an anti-join PostgreSQL read the whole index (every number being dialled, and
# the dead entries of those dialled since the last vacuum) for each claim, a third of its time.
_DUE = """
        FROM dialer_leads l JOIN dialer_campaigns c USING (campaign_id)
        WHERE l.campaign_id = $1 AND {zone_match} AND l.state = 'ready' AND l.next_at <= $2
          AND (l.attempts < c.max_attempts OR l.priority > 0)
          AND ($4::text IS NULL OR l.callback_agent IS NULL OR l.callback_agent = $4)
          AND l.consent
          AND NOT EXISTS (SELECT 1 FROM dialer_leads o
                          WHERE o.phone = l.phone AND o.state = 'dialing' OFFSET 0)
          AND NOT EXISTS (SELECT 1 FROM dialer_dnc d WHERE d.phone = l.phone)
        ORDER BY l.priority DESC, l.next_at, l.lead_id
        LIMIT {{limit:d}}
        FOR UPDATE OF l SKIP LOCKED"""

# Every zone of the campaign open: one ordered scan of dialer_leads_due.
_CANDIDATES_ANY_ZONE = "SELECT l.lead_id, l.phone, l.priority, l.next_at" + _DUE.format(
    zone_match="l.time_zone = ANY($3::text[])")

# Some zone closed: zone by zone (dialer_leads_due_by_zone, migration 0006), each open zone's best
# `limit` locked and the best `limit` of those taken (the others are let go at commit). The one
# ordered scan would read, for every lead taken, past all the due leads of the closed zones ahead
# of it: at 1,000,000 leads with one zone of four open, a pick went from 1 ms to 5 ms within
# 5,000 claims and kept growing. With every zone open the one scan skips nothing and locks only
# what it takes (zone by zone, four zones: the same server time for a claim of one, 50 % more for
# a claim of ten).
# The number of open zones is written into the text like the LIMIT: from an array parameter
# PostgreSQL expects ten zones, and re-planned every claim.
_CANDIDATES_BY_ZONE = """SELECT k.lead_id, k.phone, k.priority, k.next_at
    FROM generate_series(1, {zones:d}) AS z(n) CROSS JOIN LATERAL (
        SELECT l.lead_id, l.phone, l.priority, l.next_at""" + _DUE.format(
    zone_match="l.time_zone = ($3::text[])[z.n]") + """
    ) AS k
    ORDER BY k.priority DESC, k.next_at, k.lead_id
    LIMIT {limit:d}"""

# The LIMIT is written into the text (one prepared statement per limit a dialer uses): with a
# `LIMIT $n` PostgreSQL estimates a generic plan as if a tenth of the campaign were wanted and so
# plans every execution anew (half the claim's time); with a constant it keeps the generic plan.
# Of two candidates with one number (a household's records, side by side in the order) only the
# better is taken: taking both broke the one-call-per-number index every time, and a claim of
# several returned nothing after its retries for as long as the pair led the campaign.
_CLAIM = """
WITH candidate AS (
    {candidates}
), claimed AS (
    UPDATE dialer_leads l
    SET state = 'dialing', claim_token = gen_random_uuid(), claimed_by = $5,
        lease_until = $2 + $6::interval, updated_at = $2
    WHERE l.lead_id = ANY (ARRAY(SELECT DISTINCT ON (phone) lead_id FROM candidate
                                 ORDER BY phone, priority DESC, next_at, lead_id))
      AND l.state = 'ready' AND l.claim_token IS NULL AND l.consent
    RETURNING l.lead_id, l.claim_token, l.campaign_id, l.preinstallation_id, l.phone,
              l.time_zone, l.attempts, l.last_conversation_at, l.priority, l.next_at,
              l.callback_agent, l.lease_until
), attempt AS (
    INSERT INTO dialer_attempts (attempt_id, lead_id, campaign_id, phone, claimed_by, agent)
    SELECT claim_token, lead_id, campaign_id, phone, $5, $4 FROM claimed
)
SELECT lead_id, claim_token, campaign_id, preinstallation_id, phone, time_zone, attempts,
       last_conversation_at, CASE WHEN priority > 0 THEN next_at END AS callback_at,
       callback_agent, lease_until
FROM claimed ORDER BY priority DESC, next_at, lead_id
"""
CLAIM_ANY_ZONE = _CLAIM.replace("{candidates}", _CANDIDATES_ANY_ZONE)
CLAIM_BY_ZONE = _CLAIM.replace("{candidates}", _CANDIDATES_BY_ZONE)

RECLAIM = """
WITH expired AS (
    SELECT lead_id, claim_token FROM dialer_leads
    WHERE state = 'dialing' AND lease_until < $1
    FOR UPDATE SKIP LOCKED
), released AS (
    UPDATE dialer_leads l
    SET state = 'ready', claim_token = NULL, claimed_by = NULL, lease_until = NULL,
        attempts = l.attempts + 1, last_outcome = 'interrupted', last_attempt_at = $1,
        next_at = $1 + $2::interval, updated_at = $1
    FROM expired
    WHERE l.lead_id = expired.lead_id AND l.claim_token = expired.claim_token
      AND l.state = 'dialing' AND l.lease_until < $1
    RETURNING l.lead_id, expired.claim_token
), closed AS (
    UPDATE dialer_attempts a SET outcome = 'interrupted', ended_at = clock_timestamp(),
        detail = 'el dialer que la hizo dejó de renovar su reserva'
    FROM released WHERE a.attempt_id = released.claim_token
)
SELECT lead_id FROM released
"""

# One statement for one or many finished attempts (the same but for its input): each lead
# rescheduled (blocked if its number went on the do-not-call list meanwhile), after a conversation
# the number's other records (other campaigns too) rest as well, a callback honoured is closed, and
# the attempt gets its outcome. A row whose claim is no longer the caller's is left alone.
_FINISH_COLUMNS = ("lead_id bigint", "attempt_id uuid", "state text", "counts int", "outcome text",
                   "conversation timestamptz", "next_at timestamptz", "callback boolean",
                   "answered boolean", "abandoned boolean", "answered_at timestamptz",
                   "agent_connected_at timestamptz", "detail text", "rest_until timestamptz")
# One attempt: its values as parameters (half the server time of an unnest of one).
_FINISH_ONE = "SELECT " + ", ".join(
    f"${n}::{column.split()[1]} AS {column.split()[0]}"
    for n, column in enumerate(_FINISH_COLUMNS, start=1))
# Several: one array per column.
_FINISH_MANY = "SELECT * FROM unnest(" + ", ".join(
    f"${n}::{column.split()[1]}[]" for n, column in enumerate(_FINISH_COLUMNS, start=1)) + \
    ") AS t(" + ", ".join(column.split()[0] for column in _FINISH_COLUMNS) + ")"
_FINISH = """
WITH input AS (
    {input}
), lead AS (
    UPDATE dialer_leads l
    SET state = CASE WHEN EXISTS (SELECT 1 FROM dialer_dnc d WHERE d.phone = l.phone)
                     THEN 'blocked' ELSE i.state END,
        claim_token = NULL, claimed_by = NULL, lease_until = NULL,
        attempts = l.attempts + i.counts, last_outcome = i.outcome, last_attempt_at = $15,
        last_conversation_at = COALESCE(i.conversation, l.last_conversation_at),
        next_at = i.next_at, priority = 0, callback_agent = NULL, updated_at = $15
    FROM input i
    -- a claim token is set exactly while the lead is 'dialing' (the table's CHECK); the state
    -- is not named here, or the plan would read every dialing lead instead of the primary key
    WHERE l.lead_id = i.lead_id AND l.claim_token = i.attempt_id
    RETURNING l.lead_id, l.phone, i.attempt_id, i.callback, i.rest_until
), same_number AS (
    UPDATE dialer_leads o SET next_at = GREATEST(o.next_at, lead.rest_until), updated_at = $15
    FROM lead
    WHERE lead.rest_until IS NOT NULL AND o.phone = lead.phone AND o.lead_id <> lead.lead_id
      AND o.state = 'ready' AND o.priority = 0
), callback AS (
    UPDATE dialer_callbacks c SET done_at = $15, done_by = lead.attempt_id
    FROM lead
    WHERE lead.callback AND c.lead_id = lead.lead_id AND c.done_at IS NULL
)
UPDATE dialer_attempts a
SET outcome = i.outcome, ended_at = clock_timestamp(), answered = i.answered,
    abandoned = i.abandoned, answered_at = i.answered_at,
    agent_connected_at = i.agent_connected_at, detail = i.detail
FROM input i JOIN lead USING (attempt_id)
WHERE a.attempt_id = i.attempt_id
RETURNING a.attempt_id
"""
FINISH_ONE = _FINISH.replace("{input}", _FINISH_ONE)
FINISH_MANY = _FINISH.replace("{input}", _FINISH_MANY)


class DialerStore:
    def __init__(self, pool: asyncpg.Pool, *, default_zone: str,
                 calendar: Container[date] | None = None) -> None:
        self._pool = pool
        self._default_zone = default_zone
        self._calendar = calendar
        self._rules: dict[str, Rules] = {}
        self._zones: dict[str, set[str]] = {}

    # --- campaigns ---------------------------------------------------------------------------

    async def create_campaign(self, campaign: Campaign) -> None:
        campaign.rules(frozenset())  # refuses bad windows or retry settings before storing them
        await self._pool.execute(
            "INSERT INTO dialer_campaigns (campaign_id, name, mode, call_order, max_attempts, "
            "settings, caller_id, queue, agents) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, "
            "$9)", campaign.campaign_id, campaign.name, str(campaign.mode),
            str(campaign.call_order), campaign.max_attempts, json.dumps(campaign.settings),
            campaign.caller_id, campaign.queue, list(campaign.agents))

    async def campaign(self, campaign_id: str) -> Campaign | None:
        row = await self._pool.fetchrow("SELECT * FROM dialer_campaigns WHERE campaign_id = $1",
                                        campaign_id)
        if row is None:
            return None
        return Campaign(row["campaign_id"], row["name"], Mode(row["mode"]),
                        Order(row["call_order"]), row["max_attempts"],
                        json.loads(row["settings"]), row["caller_id"], row["queue"],
                        tuple(row["agents"]))

    async def rules(self, campaign_id: str) -> Rules:
        """The campaign's rules, read once per store (a campaign's settings are fixed while a
        dialer runs it)."""
        if campaign_id not in self._rules:
            campaign = await self.campaign(campaign_id)
            if campaign is None:
                raise LookupError(f"no existe la campaña {campaign_id!r}")
            self._rules[campaign_id] = campaign.rules(self._calendar)
        return self._rules[campaign_id]

    async def zones(self, campaign_id: str) -> list[str]:
        """The campaign's time zones, read once per store and extended by its own add_leads: a
        zone another process adds later is missing here, so its leads wait (never the reverse)."""
        if campaign_id not in self._zones:
            rows = await self._pool.fetch("SELECT DISTINCT time_zone FROM dialer_leads "
                                          "WHERE campaign_id = $1", campaign_id)
            self._zones[campaign_id] = {row["time_zone"] for row in rows}
        return sorted(self._zones[campaign_id])

    async def open_zones(self, campaign_id: str, now: datetime) -> list[str]:
        """The campaign's zones whose calling window is open now: the claim takes only these."""
        rules = await self.rules(campaign_id)
        return [zone for zone in await self.zones(campaign_id)
                if rules.windows.is_open(now, ZoneInfo(zone))]

    # --- leads -------------------------------------------------------------------------------

    async def add_leads(self, campaign_id: str, leads: Iterable[NewLead],
                        now: datetime) -> LeadImport:
        """Adds records to a campaign (a record already in it is left as it is); a phone that is
        not a valid number is reported, not stored."""
        rules = await self.rules(campaign_id)
        report = LeadImport()
        columns: tuple[list, ...] = ([], [], [], [], [])
        for lead in leads:
            phone = to_e164(lead.phone)
            if phone is None:
                report.bad_phones.append((lead.preinstallation_id, lead.phone))
                continue
            zone = zone_for(explicit=lead.zone, state=lead.state, default=self._default_zone)
            due = next_eligible(LeadState(zone, consent=lead.consent), rules, now)
            for column, value in zip(columns, (lead.preinstallation_id, phone, zone,
                                               lead.consent, due.at)):
                column.append(value)
        rows = await self._pool.fetch(
            "INSERT INTO dialer_leads (campaign_id, preinstallation_id, phone, time_zone, "
            "consent, next_at, state) "
            "SELECT $1, p, ph, z, c, n, CASE WHEN NOT c OR EXISTS (SELECT 1 FROM dialer_dnc d "
            "WHERE d.phone = ph) THEN 'blocked' ELSE 'ready' END "
            "FROM unnest($2::text[], $3::text[], $4::text[], $5::boolean[], $6::timestamptz[]) "
            "AS t(p, ph, z, c, n) "
            "ON CONFLICT (campaign_id, preinstallation_id) DO NOTHING RETURNING state",
            campaign_id, *columns)
        if campaign_id in self._zones:
            self._zones[campaign_id].update(columns[2])
        report.added = len(rows)
        report.blocked_by_dnc = sum(1 for row in rows if row["state"] == "blocked")
        report.already_there = len(columns[0]) - report.added
        return report

    async def claim(self, campaign_id: str, *, worker: str, now: datetime, lease: timedelta,
                    open_zones: Sequence[str], agent: str | None = None,
                    limit: int = 1) -> list[Claim]:
        """Takes up to `limit` due leads for dialing, callbacks first; each is an attempt."""
        if limit < 1:
            return []
        zones = sorted(set(open_zones))
        # a zone another process added since this store read the campaign's is not compared
        # here: while it is closed its due leads are read past, never claimed (the statement
        # names the open zones)
        every_zone_open = set(zones) >= set(await self.zones(campaign_id))
        if every_zone_open:
            sql = CLAIM_ANY_ZONE.format(limit=limit)
        else:
            sql = CLAIM_BY_ZONE.format(limit=limit, zones=len(zones))
        for _ in range(CLAIM_RETRIES):
            try:
                rows = await self._pool.fetch(sql, campaign_id, now, zones, agent, worker,
                                              lease)
            except (asyncpg.UniqueViolationError, asyncpg.DeadlockDetectedError):
                # another worker took the same number for another record just now; or two claims
                # of several each waited for the other on two numbers (the one-call-per-number
                # index checks each row as it is written) and PostgreSQL undid this one
                continue
            return [_claim(row) for row in rows]
        return []

    async def renew(self, claims: Iterable[Claim], until: datetime) -> int:
        """Extends the leases of live attempts; returns how many are still this dialer's."""
        result = await self._pool.execute(
            "UPDATE dialer_leads SET lease_until = $2 WHERE claim_token = ANY($1::uuid[]) "
            "AND state = 'dialing'", [c.attempt_id for c in claims], until)
        return int(result.split()[-1])

    async def reclaim_expired(self, now: datetime, *,
                              retry_after: timedelta = timedelta(minutes=10)) -> list[int]:
        """Leads whose claimer stopped renewing: back to ready once, after `retry_after` (its
        call may still be up in Asterisk), their attempt recorded as interrupted."""
        rows = await self._pool.fetch(RECLAIM, now, retry_after)
        return [row["lead_id"] for row in rows]

    async def finish(self, claim: Claim, result: AttemptResult | Outcome,
                     now: datetime) -> bool:
        """Records the attempt's outcome and schedules the lead; False when the claim is no
        longer this dialer's (its lease ran out and the lead was reclaimed)."""
        return (await self.finish_many([(claim, result)], now))[0]

    async def finish_many(self, finished: Sequence[tuple[Claim, AttemptResult | Outcome]],
                          now: datetime) -> list[bool]:
        """`finish` for several attempts in one statement and one commit (a dialer whose calls
        end together: one round trip and one WAL flush instead of one each); the answer per
        attempt, in order."""
        if not finished:
            return []
        values = [_finish_row(claim, result, await self.rules(claim.campaign_id), now)
                  for claim, result in finished]
        if len(values) == 1:
            rows = await self._pool.fetch(FINISH_ONE, *values[0], now)
        else:
            rows = await self._pool.fetch(FINISH_MANY, *map(list, zip(*values, strict=True)),
                                          now)
        done = {row["attempt_id"] for row in rows}
        return [claim.attempt_id in done for claim, _ in finished]

    async def set_disposition(self, attempt_id: uuid.UUID, disposition: str, effect: Disposition,
                              now: datetime, *, callback_at: datetime | None = None,
                              callback_agent: str | None = None, by: str | None = None) -> bool:
        """The agent's disposition after the call. A callback makes the lead due at that time
        (inside its window), first, for `callback_agent` only when given. False when the
        attempt is unknown or its lead is being dialled again."""
        if effect is Disposition.CALLBACK and callback_at is None:
            raise ValueError("una devolución de llamada necesita fecha y hora")
        async with self._pool.acquire() as conn, conn.transaction():
            lead = await conn.fetchrow(
                "UPDATE dialer_attempts SET disposition = $2 WHERE attempt_id = $1 "
                "RETURNING lead_id, campaign_id", attempt_id, disposition)
            if lead is None:
                return False
            if effect is Disposition.FINAL:
                done = await conn.execute(
                    "UPDATE dialer_leads SET state = 'done', next_at = NULL, priority = 0, "
                    "callback_agent = NULL, updated_at = $2 WHERE lead_id = $1 "
                    "AND state IN ('ready', 'exhausted')", lead["lead_id"], now)
                return done.endswith(" 1")
            if effect is Disposition.RETRY:
                return True
            row = await conn.fetchrow(
                "SELECT time_zone, state, consent, EXISTS (SELECT 1 FROM dialer_dnc d "
                "WHERE d.phone = l.phone) AS dnc FROM dialer_leads l WHERE lead_id = $1 "
                "FOR UPDATE", lead["lead_id"])
            if row["state"] not in ("ready", "exhausted"):
                return False
            rules = await self.rules(lead["campaign_id"])
            due = next_eligible(LeadState(row["time_zone"], callback_at=callback_at,
                                          do_not_call=row["dnc"], consent=row["consent"]),
                                rules, now)
            state, next_at = lead_state_of(due)
            await conn.execute("UPDATE dialer_callbacks SET done_at = $2 WHERE lead_id = $1 "
                               "AND done_at IS NULL", lead["lead_id"], now)
            await conn.execute(
                "INSERT INTO dialer_callbacks (lead_id, due_at, for_agent, created_by, "
                "attempt_id) VALUES ($1, $2, $3, $4, $5)", lead["lead_id"], callback_at,
                callback_agent, by, attempt_id)
            await conn.execute(
                "UPDATE dialer_leads SET state = $2, next_at = $3, priority = 1, "
                "callback_agent = $4, updated_at = $5 WHERE lead_id = $1",
                lead["lead_id"], state, next_at, callback_agent, now)
            return True

    # --- do-not-call -------------------------------------------------------------------------

    async def add_to_dnc(self, numbers: Iterable[str], *, source: str,
                         added_by: str | None = None, note: str | None = None) -> DncImport:
        """Adds E.164 numbers to the list and blocks every record with them, in one
        transaction, so no claim after it can take one."""
        numbers = list(dict.fromkeys(numbers))
        report = DncImport()
        async with self._pool.acquire() as conn, conn.transaction():
            added = await conn.fetch(
                "INSERT INTO dialer_dnc (phone, source, added_by, note) "
                "SELECT unnest($1::text[]), $2, $3, $4 ON CONFLICT (phone) DO NOTHING "
                "RETURNING phone", numbers, source, added_by, note)
            blocked = await conn.execute(
                "UPDATE dialer_leads SET state = 'blocked', updated_at = now() "
                "WHERE phone = ANY($1::text[]) AND state = 'ready'", numbers)
        report.added = len(added)
        report.already_there = len(numbers) - report.added
        report.leads_blocked = int(blocked.split()[-1])
        return report

    async def import_dnc_csv(self, text: str, *, source: str,
                             added_by: str | None = None) -> DncImport:
        """A REPEP export or any CSV with a phone column; bad rows come back in the report."""
        parsed = parse_dnc_csv(text)
        report = await self.add_to_dnc(parsed.numbers, source=source, added_by=added_by)
        report.bad_rows = parsed.bad_rows
        report.repeated_in_file = parsed.repeated
        return report

    async def remove_from_dnc(self, phone: str, now: datetime) -> bool:
        """Takes a number off the list; its records with consent become due again."""
        async with self._pool.acquire() as conn, conn.transaction():
            removed = await conn.execute("DELETE FROM dialer_dnc WHERE phone = $1", phone)
            leads = await conn.fetch(
                "SELECT lead_id, campaign_id, time_zone, attempts, last_outcome, "
                "last_attempt_at, last_conversation_at FROM dialer_leads "
                "WHERE phone = $1 AND state = 'blocked' AND consent FOR UPDATE", phone)
            for lead in leads:
                rules = await self.rules(lead["campaign_id"])
                last = Outcome(lead["last_outcome"]) if lead["last_outcome"] else None
                state, next_at = lead_state_of(next_eligible(
                    LeadState(lead["time_zone"], attempts=lead["attempts"],
                              last_attempt_at=lead["last_attempt_at"], last_outcome=last,
                              last_conversation_at=lead["last_conversation_at"]), rules, now))
                await conn.execute("UPDATE dialer_leads SET state = $2, next_at = $3, "
                                   "updated_at = $4 WHERE lead_id = $1",
                                   lead["lead_id"], state, next_at, now)
        return removed.endswith(" 1")

    async def is_dnc(self, phone: str) -> bool:
        return await self._pool.fetchval("SELECT EXISTS (SELECT 1 FROM dialer_dnc "
                                         "WHERE phone = $1)", phone)

    # --- what pacing measures ----------------------------------------------------------------

    async def abandon_stats(self, campaign_id: str, now: datetime,
                            days: int = 30) -> AbandonStats:
        """Answered and abandoned attempts over the campaign's last `days` days."""
        row = await self._pool.fetchrow(
            "SELECT count(*) FILTER (WHERE answered) AS answered, "
            "count(*) FILTER (WHERE abandoned) AS abandoned FROM dialer_attempts "
            "WHERE campaign_id = $1 AND started_at >= $2", campaign_id,
            now - timedelta(days=days))
        return AbandonStats(row["answered"], row["abandoned"])

    # --- what the dialer engine (telephony.dialer.engine) adds -------------------------------

    async def running_campaigns(self) -> list[str]:
        rows = await self._pool.fetch("SELECT campaign_id FROM dialer_campaigns "
                                      "WHERE state = 'running' ORDER BY campaign_id")
        return [row["campaign_id"] for row in rows]

    async def campaign_state(self, campaign_id: str) -> str | None:
        """draft, running, paused or stopped; None when the campaign does not exist."""
        return await self._pool.fetchval("SELECT state FROM dialer_campaigns "
                                         "WHERE campaign_id = $1", campaign_id)

    async def release(self, claim: Claim, now: datetime, detail: str) -> bool:
        """Ends an attempt that never reached the customer through no fault of theirs (AMI
        down, an offer nobody answered): recorded as interrupted, not counted as an attempt,
        due again after the interrupted delay. False when the claim is no longer this dialer's."""
        rules = await self.rules(claim.campaign_id)
        outcome = Outcome.INTERRUPTED
        after = LeadState(claim.zone, attempts=claim.attempts, last_attempt_at=now,
                          last_outcome=outcome, last_conversation_at=claim.last_conversation_at,
                          callback_at=claim.callback_at)
        state, next_at = lead_state_of(next_eligible(after, rules, now))
        row = await self._pool.fetchrow(
            FINISH_ONE, claim.lead_id, claim.attempt_id, state, 0, str(outcome), None, next_at,
            False, False, False, None, None, detail, None, now)
        if row is not None and claim.callback_at is not None:
            # a callback not honoured yet stays first in line
            await self._pool.execute(
                "UPDATE dialer_leads SET priority = 1, callback_agent = $2 WHERE lead_id = $1 "
                "AND state = 'ready'", claim.lead_id, claim.callback_agent)
        return row is not None

    async def set_call_id(self, attempt_id: uuid.UUID, call_id: str) -> None:
        """Joins an attempt to its call record (call_records.call_id = the Originate ChannelId)."""
        await self._pool.execute("UPDATE dialer_attempts SET call_id = $2 WHERE attempt_id = $1",
                                 attempt_id, call_id)

    async def measured(self, campaign_id: str, *, recent: int = 200) -> dict[str, float]:
        """The campaign's latest `recent` finished attempts that rang the customer: how many,
        how many a person answered, mean seconds from placing to answer, mean talk seconds."""
        row = await self._pool.fetchrow(
            "SELECT count(*) AS dialled, count(*) FILTER (WHERE answered) AS answered, "
            "coalesce(avg(extract(epoch FROM answered_at - started_at)) FILTER (WHERE answered), "
            "0) AS answer_seconds, coalesce(avg(extract(epoch FROM ended_at - "
            "agent_connected_at)) FILTER (WHERE outcome = 'connected' AND agent_connected_at "
            "IS NOT NULL), 0) AS talk_seconds FROM (SELECT * FROM dialer_attempts "
            "WHERE campaign_id = $1 AND ended_at IS NOT NULL AND outcome NOT IN "
            "('skipped', 'agent_rejected', 'interrupted') ORDER BY started_at DESC LIMIT $2) a",
            campaign_id, recent)
        return {"dialled": row["dialled"], "answered": row["answered"],
                "answer_seconds": float(row["answer_seconds"]),
                "talk_seconds": float(row["talk_seconds"])}


def _finish_row(claim: Claim, result: AttemptResult | Outcome, rules: Rules,
                now: datetime) -> tuple:
    """One attempt's values for FINISH, in the order of its input columns."""
    if isinstance(result, Outcome):
        result = AttemptResult(result, False, None, None, None, "")
    outcome = result.outcome
    counts = 1 if outcome.dialled_customer else 0
    conversation = now if outcome is Outcome.CONNECTED else None
    after = LeadState(claim.zone, attempts=claim.attempts + counts, last_attempt_at=now,
                      last_outcome=outcome,
                      last_conversation_at=conversation or claim.last_conversation_at)
    state, next_at = lead_state_of(next_eligible(after, rules, now))
    answered = result.answered_at is not None and outcome is not Outcome.MACHINE
    rest_until = None
    if conversation is not None:
        local_day = conversation.astimezone(ZoneInfo(claim.zone)).date()
        rest_until = datetime.combine(local_day + timedelta(days=1), datetime.min.time(),
                                      tzinfo=ZoneInfo(claim.zone))
    return (claim.lead_id, claim.attempt_id, state, counts, str(outcome), conversation, next_at,
            claim.callback_at is not None, answered, result.abandoned,
            _epoch(result.answered_at), _epoch(result.agent_connected_at), result.detail,
            rest_until)


def _claim(row: asyncpg.Record) -> Claim:
    return Claim(row["lead_id"], row["claim_token"], row["campaign_id"],
                 row["preinstallation_id"], row["phone"], row["time_zone"], row["attempts"],
                 row["last_conversation_at"], row["callback_at"], row["callback_agent"],
                 row["lease_until"])


def lead_state_of(due: Eligibility) -> tuple[str, datetime | None]:
    """A lead's state and due time for when it may next be dialled (also used by the call's
    result on the agent screen, screenpop.wrapup)."""
    if due.at is not None or due.why is Why.NO_WINDOW:
        return "ready", due.at
    if due.why is Why.EXHAUSTED:
        return "exhausted", None
    if due.why in (Why.DO_NOT_CALL, Why.NO_CONSENT):
        return "blocked", None
    return "done", None


def _epoch(at: float | None) -> datetime | None:
    return datetime.fromtimestamp(at, UTC) if at is not None else None


