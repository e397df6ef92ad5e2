"""The dialer engine on real PostgreSQL and Redis, placing calls on the simulator over TCP."""
from __future__ import annotations

from tests.dialer.conftest import AGENTS, eventually, new_campaign, set_agent


async def finished(pool, campaign_id: str = "c1") -> int:
    return await pool.fetchval("SELECT count(*) FROM dialer_attempts WHERE campaign_id = $1 "
                               "AND outcome IS NOT NULL", campaign_id)


async def no_agent_twice(pool) -> None:
    rows = await pool.fetch("SELECT agent, started_at, ended_at FROM dialer_attempts "
                            "WHERE agent IS NOT NULL ORDER BY agent, started_at")
    for before, after in zip(rows, rows[1:]):
        if before["agent"] == after["agent"]:
            assert before["ended_at"] <= after["started_at"], (before, after)


async def test_progressive_campaign_with_three_agents_calls_all_fifty(
        engine, dialer_store, dialer_pool, redis, keys, sim) -> None:
    await new_campaign(dialer_store, dialer_pool, leads=50)
    for username in AGENTS:
        await set_agent(redis, keys, username)
    await engine()
    await eventually(lambda: _equals(finished(dialer_pool), 50), timeout=60)
    outcomes = dict(await dialer_pool.fetch(
        "SELECT outcome, count(*) FROM dialer_attempts GROUP BY outcome"))
    assert outcomes == {"connected": 50}
    per_lead = await dialer_pool.fetch("SELECT lead_id, count(*) AS n FROM dialer_attempts "
                                       "GROUP BY lead_id")
    assert len(per_lead) == 50 and {row["n"] for row in per_lead} == {1}
    assert await dialer_pool.fetchval(
        "SELECT count(*) FROM dialer_attempts WHERE call_id = 'dl-' || "
        "replace(attempt_id::text, '-', '')") == 50
    assert set(await dialer_pool.fetchval(
        "SELECT array_agg(DISTINCT agent) FROM dialer_attempts")) == set(AGENTS)
    await no_agent_twice(dialer_pool)
    live = await redis.hgetall(keys.dialer_live("c1"))
    assert live["campaign_id"] == "c1" and live["agents_available"] in ("0", "1", "2", "3")
    for username in AGENTS:
        assert await redis.get(keys.dialer_agent_reservation(username)) is None


async def _equals(value, expected) -> bool:
    return (await value) == expected
