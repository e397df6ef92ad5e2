"""Reading call records for the desk: the filtered list (keyset paging), one call with its
timeline, and the rows of a CSV export read through a server-side cursor."""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg

from screenpop.qa.filters import PAGE_SIZE, CallFilter, Cursor, where_clause


def name_of(username_column: str) -> str:
    """SQL for the name a desk shows for the username in `username_column`: the account's
    display name, else the username itself (a removed account)."""
    return (f"coalesce((SELECT acc.display_name FROM accounts acc "
            f"WHERE acc.username = {username_column}), {username_column})")


CAMPAIGN_NAME = ("(SELECT c.name FROM dialer_campaigns c "
                 "WHERE c.campaign_id = r.campaign_id)")

LIST_COLUMNS = f"""r.call_id, r.started_at, r.direction, r.customer_number, r.campaign_id,
    {CAMPAIGN_NAME} AS campaign_name, r.queue, r.disposition, r.agent_username,
    {name_of("r.agent_username")} AS agent_name,
    r.preinstallation_id, r.match_status, r.talk_seconds, r.activated_at, r.complete,
    r.unreached, r.recording_file IS NOT NULL AS has_recording"""

EXPORT_COLUMNS = ("call_id", "started_at", "direction", "customer_number", "campaign_id", "queue",
                  "agent_username", "preinstallation_id", "match_status", "disposition",
                  "wait_seconds", "talk_seconds", "hold_seconds", "hangup_by", "hangup_cause",
                  "activated_at", "complete", "recording_file", "unreached")


@dataclass(frozen=True)
class Page:
    rows: list[asyncpg.Record]
    next_cursor: str | None


async def list_calls(pool: asyncpg.Pool, flt: CallFilter, after: Cursor | None = None,
                     limit: int = PAGE_SIZE) -> Page:
    conditions, args = where_clause(flt)
    if after is not None:
        args += [after.started_at, after.call_id]
        conditions += f" AND (r.started_at, r.call_id) < (${len(args) - 1}, ${len(args)})"
    # An agent sees only scores given to them, not those of a colleague on the same call.
    args += [flt.participant, limit + 1]
    rows = await pool.fetch(f"""
        SELECT {LIST_COLUMNS},
               (SELECT e.score FROM qa_evaluations e WHERE e.call_id = r.call_id
                  AND e.calibration_id IS NULL
                  AND (${len(args) - 1}::text IS NULL OR e.agent_username = ${len(args) - 1})
                ORDER BY e.created_at DESC LIMIT 1) AS score
        FROM call_records r WHERE {conditions}
        ORDER BY r.started_at DESC, r.call_id DESC LIMIT ${len(args)}""", *args)
    if len(rows) <= limit:
        return Page(rows, None)
    last = rows[limit - 1]
    return Page(rows[:limit], Cursor(last["started_at"], last["call_id"]).encode())


async def agent_choices(pool: asyncpg.Pool) -> dict[str, str]:
    """The agents a reviewer can filter the list by: every agent account, username → name."""
    return dict(await pool.fetch("SELECT username, display_name FROM accounts "
                                 "WHERE role = 'agent' ORDER BY display_name, username"))


async def campaign_choices(pool: asyncpg.Pool) -> dict[str, str]:
    """The campaigns the list can be filtered by, campaign id → name."""
    return dict(await pool.fetch("SELECT campaign_id, name FROM dialer_campaigns "
                                 "ORDER BY name, campaign_id"))


async def took_part(pool: asyncpg.Pool, call_id: str, username: str) -> bool:
    return bool(await pool.fetchval(
        "SELECT EXISTS (SELECT 1 FROM call_agents WHERE call_id = $1 AND username = $2)",
        call_id, username))


@dataclass(frozen=True)
class CallDetail:
    record: asyncpg.Record
    agents: list[asyncpg.Record]
    events: list[asyncpg.Record]


async def call_detail(pool: asyncpg.Pool, call_id: str) -> CallDetail | None:
    async with pool.acquire() as conn:
        record = await conn.fetchrow(f"SELECT r.*, {CAMPAIGN_NAME} AS campaign_name "
                                     "FROM call_records r WHERE r.call_id = $1", call_id)
        if record is None:
            return None
        # each agent's name as the accounts have it (a removed account leaves its username)
        agents = await conn.fetch("""
            SELECT a.*, acc.display_name
            FROM call_agents a LEFT JOIN accounts acc USING (username)
            WHERE a.call_id = $1 ORDER BY a.position""", call_id)
        events = await conn.fetch("SELECT at, kind, actor, detail FROM call_events "
                                  "WHERE call_id = $1 ORDER BY at, event_key", call_id)
    return CallDetail(record, agents, events)


async def export_lines(pool: asyncpg.Pool, flt: CallFilter, tz_name: str,
                       batch: int = 5000) -> AsyncIterator[list[str]]:
    """Every row the filter matches, newest first, as CSV lines built by PostgreSQL (RFC 4180:
    every value quoted, NULL left empty; times in `tz_name`, yes/no as si/no), in batches read
    through a server-side cursor: memory stays flat and Python only joins text."""
    conditions, args = where_clause(flt)
    line = " || ',' || ".join(_csv_field(c) for c in EXPORT_COLUMNS)
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        await conn.execute("SELECT set_config('TimeZone', $1, true)", tz_name)
        # DECLARE, not a protocol-level portal: a declared cursor is planned for its first rows
        # (an index scan in list order), a portal for the whole result (a sort of every match
        # before the first row leaves).
        await conn.execute(f"DECLARE qa_export NO SCROLL CURSOR FOR SELECT {line} "
                           f"FROM call_records r WHERE {conditions} "
                           "ORDER BY r.started_at DESC, r.call_id DESC", *args)
        while rows := await conn.fetch(f"FETCH {int(batch)} FROM qa_export"):
            yield [row[0] for row in rows]


def _csv_field(column: str) -> str:
    value = "CASE WHEN r.complete THEN 'si' ELSE 'no' END" if column == "complete" \
        else f"r.{column}::text"
    return f"""coalesce('"' || replace({value}, '"', '""') || '"', '')"""
