"""Generated call records written straight into the schema, for tests and the benchmark
(the live writer is telephony's and screenpop's; this builds the same rows without a call)."""
from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import asyncpg

AGENT_COUNT = 40
CAMPAIGNS = ("inbound-ventas", "reactivacion", "fibra-nov", "referidos")
DISPOSITIONS = ("venta", "no_interesado", "sin_cobertura", "volver_a_llamar", "numero_erroneo")


async def insert_call(conn: asyncpg.Connection, call_id: str, *, started_at: datetime,
                      agents: Sequence[str] = ("ana",), direction: str = "inbound",
                      campaign: str | None = None, disposition: str | None = "venta",
                      number: str | None = "5512345678", preinstallation: str | None = None,
                      activated: bool = False, talk_seconds: float = 180.0,
                      recording_file: str | None = None, steps_reached: Sequence[str] = (),
                      events: Sequence[tuple] = ()) -> None:
    """One call as its writers would leave it: the record, its agents in order (each answered),
    and its timeline (`events` as offset from the start, kind, detail[, actor])."""
    await conn.execute("""
        INSERT INTO call_records (call_id, direction, customer_number, campaign_id,
            preinstallation_id, match_status, ring_at, answered_at, ended_at, talk_seconds,
            disposition, recording_file, activated_at, guided, complete)
        VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz, $7::timestamptz + interval '5 seconds',
                $7::timestamptz + interval '5 seconds' + make_interval(secs => $8::float8), $8,
                $9, $10, CASE WHEN $11 THEN $7::timestamptz + interval '1 minute' END, $12, true)""",
        call_id, direction, number, campaign, preinstallation,
        "single" if preinstallation else "none", started_at, talk_seconds, disposition,
        recording_file, activated, json.dumps({"steps": list(steps_reached)}))
    for position, username in enumerate(agents, start=1):
        await conn.execute("""
            INSERT INTO call_agents (call_id, position, username, endpoint, rang_at, answered_at)
            VALUES ($1, $2, $3, $4, $5::timestamptz, $5::timestamptz + interval '5 seconds')""",
            call_id, position, username, f"PJSIP/{6000 + position}", started_at)
    for number_, (offset, kind, detail, *actor) in enumerate(events):
        await conn.execute("INSERT INTO call_events (call_id, event_key, at, kind, actor, detail) "
                           "VALUES ($1, $2, $3, $4, $5, $6)", call_id, f"e{number_}",
                           started_at + offset, kind, actor[0] if actor else None,
                           json.dumps(detail))


def agent_name(index: int) -> str:
    return f"agente{index:02d}"


async def generate_calls(conn: asyncpg.Connection, count: int, *, end: datetime, days: int = 180,
                         first: int = 1) -> None:
    """`count` calls spread evenly over the `days` before `end`, in one statement per table
    (generate_series): call ids gen-NNNNNNN, agents agente00..39, campaigns and dispositions
    cycling, every 7th call activated. The call_agents trigger is bypassed: the generator sets
    agent_username itself (the same value the trigger would)."""
    span = days * 86400.0
    async with conn.transaction():
        await conn.execute(f"""
            INSERT INTO call_records (call_id, direction, customer_number, campaign_id,
                preinstallation_id, match_status, ring_at, answered_at, ended_at, talk_seconds,
                disposition, agent_username, activated_at, recording_file, complete)
            SELECT 'gen-' || lpad(n::text, 7, '0'),
                   CASE WHEN n % 3 = 0 THEN 'outbound' ELSE 'inbound' END,
                   '55' || lpad((n * 7919 % 100000000)::text, 8, '0'),
                   (ARRAY{list(CAMPAIGNS)!r})[n % {len(CAMPAIGNS)} + 1],
                   CASE WHEN n % 4 <> 0 THEN 'pre-' || (n % 50000) END,
                   CASE WHEN n % 4 <> 0 THEN 'single' ELSE 'none' END,
                   t, t + interval '5 seconds', t + interval '5 seconds' + (n % 600) * interval '1 second',
                   n % 600,
                   (ARRAY{list(DISPOSITIONS)!r})[n % {len(DISPOSITIONS)} + 1],
                   'agente' || lpad((n % {AGENT_COUNT})::text, 2, '0'),
                   CASE WHEN n % 7 = 0 THEN t + interval '2 minutes' END,
                   'gen-' || lpad(n::text, 7, '0') || '.wav', true
            FROM generate_series($1::bigint, $1::bigint + $2 - 1) AS n,
                 LATERAL (SELECT $3::timestamptz - ($4 * (n - $1 + 1) / $2) * interval '1 second')
                         AS start(t)""", first, count, end, span)
        await conn.execute("ALTER TABLE call_agents DISABLE TRIGGER call_agents_qa_agent")
        await conn.execute("""
            INSERT INTO call_agents (call_id, position, username, endpoint, rang_at, answered_at)
            SELECT call_id, 1, agent_username, 'PJSIP/6001', ring_at, answered_at
            FROM call_records WHERE call_id BETWEEN 'gen-' || lpad($1::bigint::text, 7, '0')
                AND 'gen-' || lpad(($1::bigint + $2::bigint - 1)::text, 7, '0')""",
            first, count)
        await conn.execute("ALTER TABLE call_agents ENABLE TRIGGER call_agents_qa_agent")
