"""The daily sampling queue: which of a day's calls QA scores, and reviewers claiming them.

Which calls is pure (`sample_reason`): each call draws a stable number in [0, 1) from its id and
is taken when that number is under the largest share that applies to it — the agent's share,
more for new agents, activations and short calls. Rebuilding a day's sample takes the same calls.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from screenpop.qa.records import name_of
from screenpop.qa.scorecard import Sampling

PRIORITY = {"new_agent": 1, "activation": 2, "short_call": 3, "share": 4}


@dataclass(frozen=True)
class Candidate:
    call_id: str
    agent: str | None
    talk_seconds: float | None
    activated: bool
    agent_first_call: date | None  # the agent's first call on record


def draw(call_id: str) -> float:
    return int.from_bytes(hashlib.sha256(call_id.encode()).digest()[:8], "big") / 2 ** 64


def sample_reason(call: Candidate, rules: Sampling, day: date) -> str | None:
    """The reason the call is sampled, or None."""
    shares = {"share": rules.agent_share(call.agent)}
    first = call.agent_first_call
    if first is not None and (day - first).days < rules.new_agent_days:
        shares["new_agent"] = rules.new_agent_share
    if call.activated:
        shares["activation"] = rules.activation_share
    if call.talk_seconds is not None and call.talk_seconds < rules.short_call_seconds:
        shares["short_call"] = rules.short_call_share
    reason = max(shares, key=lambda k: (shares[k], -PRIORITY[k]))
    return reason if draw(call.call_id) < shares[reason] else None


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tz)
    return start, datetime.combine(day + timedelta(days=1), time(0), tz)


async def build_daily_sample(pool: asyncpg.Pool, day: date, tz: ZoneInfo, rules: Sampling) -> int:
    """Adds the day's sampled calls (local day in TZ_NAME) that have ended to the queue; returns
    how many are in it. Idempotent: calls already queued, and their claims, stay as they are;
    a call still going on is added once it has ended."""
    since, until = day_bounds(day, tz)
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch("""
            SELECT r.call_id, r.agent_username, r.talk_seconds, r.activated_at IS NOT NULL AS activated,
                   (SELECT min(f.started_at) FROM call_records f
                     WHERE f.agent_username = r.agent_username) AS first_call
            FROM call_records r
            WHERE r.started_at >= $1 AND r.started_at < $2 AND r.answered_at IS NOT NULL
              AND r.ended_at IS NOT NULL AND r.unreached IS NULL""",
            since, until)
        picked = []
        for row in rows:
            first = row["first_call"].astimezone(tz).date() if row["first_call"] else None
            talk = float(row["talk_seconds"]) if row["talk_seconds"] is not None else None
            candidate = Candidate(row["call_id"], row["agent_username"], talk, row["activated"],
                                  first)
            reason = sample_reason(candidate, rules, day)
            if reason is not None:
                picked.append((day, candidate.call_id, candidate.agent, reason, PRIORITY[reason]))
        await conn.executemany("""
            INSERT INTO qa_sample (sample_date, call_id, agent_username, reason, priority)
            VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING""", picked)
        return await conn.fetchval("SELECT count(*) FROM qa_sample WHERE sample_date = $1", day)


async def claim_next(db: asyncpg.Pool | asyncpg.Connection, day: date, reviewer: str,
                     count: int) -> list[str]:
    """Claims up to `count` unclaimed calls of the day for the reviewer (most urgent first).
    Rows another reviewer is claiming at this moment are skipped, never shared."""
    rows = await db.fetch("""
        WITH free AS MATERIALIZED (
            SELECT call_id FROM qa_sample WHERE sample_date = $1 AND claimed_by IS NULL
            ORDER BY priority, call_id LIMIT $3 FOR UPDATE SKIP LOCKED)
        UPDATE qa_sample s SET claimed_by = $2, claimed_at = now() FROM free
        WHERE s.sample_date = $1 AND s.call_id = free.call_id AND s.claimed_by IS NULL
        RETURNING s.call_id""", day, reviewer, count)
    return sorted(r["call_id"] for r in rows)


async def claim_call(pool: asyncpg.Pool, day: date, call_id: str, reviewer: str) -> bool:
    """True when this reviewer now holds the call (or already did)."""
    holder = await pool.fetchval("""
        UPDATE qa_sample SET claimed_by = $3, claimed_at = now()
        WHERE sample_date = $1 AND call_id = $2 AND claimed_by IS NULL RETURNING claimed_by""",
        day, call_id, reviewer)
    if holder is None:
        holder = await pool.fetchval("SELECT claimed_by FROM qa_sample WHERE sample_date = $1 "
                                     "AND call_id = $2", day, call_id)
    return holder == reviewer


async def queue_of(pool: asyncpg.Pool, day: date, reviewer: str) -> list[asyncpg.Record]:
    return await pool.fetch(f"""
        SELECT s.call_id, s.reason, s.agent_username,
               {name_of("s.agent_username")} AS agent_name, r.started_at, r.talk_seconds,
               EXISTS (SELECT 1 FROM qa_evaluations e WHERE e.call_id = s.call_id
                       AND e.reviewer = $2 AND e.calibration_id IS NULL) AS scored
        FROM qa_sample s JOIN call_records r USING (call_id)
        WHERE s.sample_date = $1 AND s.claimed_by = $2 ORDER BY s.priority, s.call_id""",
        day, reviewer)


async def unclaimed_count(pool: asyncpg.Pool, day: date) -> int:
    return await pool.fetchval("SELECT count(*) FROM qa_sample WHERE sample_date = $1 "
                               "AND claimed_by IS NULL", day)
