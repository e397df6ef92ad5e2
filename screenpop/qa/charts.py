"""What the charts draw: average score per agent per week, activation rate per agent, the items
most often failed. Weeks are local (TZ_NAME) weeks starting Monday."""
from __future__ import annotations

from datetime import datetime

import asyncpg

from screenpop.qa.records import name_of


async def chart_data(pool: asyncpg.Pool, *, since: datetime, until: datetime, tz_name: str,
                     top_items: int = 10) -> dict:
    async with pool.acquire() as conn:
        weekly = await conn.fetch(f"""
            SELECT agent_username AS agent, {name_of("agent_username")} AS name,
                   to_char(date_trunc('week', created_at AT TIME ZONE $3), 'YYYY-MM-DD') AS week,
                   round(avg(score), 1)::float AS score, count(*) AS evaluations
            FROM qa_evaluations
            WHERE calibration_id IS NULL AND created_at >= $1 AND created_at < $2
              AND agent_username IS NOT NULL
            GROUP BY 1, 3 ORDER BY 3, 1""", since, until, tz_name)
        activation = await conn.fetch(f"""
            SELECT agent_username AS agent, {name_of("agent_username")} AS name,
                   count(*) AS calls,
                   count(activated_at) AS activated,
                   round(100.0 * count(activated_at) / count(*), 1)::float AS rate
            FROM call_records
            WHERE started_at >= $1 AND started_at < $2 AND agent_username IS NOT NULL
            GROUP BY 1 ORDER BY rate DESC, agent""", since, until)
        failed = await conn.fetch("""
            SELECT i.item_id, min(i.label) AS label, count(*) AS failures
            FROM qa_evaluation_items i JOIN qa_evaluations e ON e.id = i.evaluation_id
            WHERE i.result = 'fail' AND e.calibration_id IS NULL
              AND e.created_at >= $1 AND e.created_at < $2
            GROUP BY 1 ORDER BY failures DESC, item_id LIMIT $3""", since, until, top_items)
    return {"weekly_scores": [dict(r) for r in weekly],
            "activation": [dict(r) for r in activation],
            "failed_items": [dict(r) for r in failed]}
