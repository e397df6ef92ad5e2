"""The dialer engine on real PostgreSQL and Redis, placing calls on the simulator over TCP."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from common.dialer.store import NewLead
from common.dialer.windows import WEEKDAYS
from tests.dialer.conftest import AGENTS, eventually, new_campaign, number, set_agent

CDMX = ZoneInfo("America/Mexico_City")


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
    """30 customers answer, 10 never do, 5 are busy (each retried up to max_attempts = 3), and
    for 5 the agent's phone is unreachable once (not counted against the customer)."""
    await new_campaign(dialer_store, dialer_pool, leads=50,
                       retry_minutes={"no_answer": 0, "busy": 0, "agent_rejected": 0})
    picker = sim.dialer.picker
    for n in range(30, 40):
        picker.set_rule(f"52{number(n)}", "no_answer")
    for n in range(40, 45):
        picker.set_rule(f"52{number(n)}", "busy")
    for n in range(45, 50):
        picker.force_next(f"52{number(n)}", "agent_unreachable")
    for username in AGENTS:
        await set_agent(redis, keys, username)
    await engine()

    async def over() -> bool:
        return await dialer_pool.fetchval(
            "SELECT count(*) FROM dialer_leads WHERE state = 'dialing' OR (state = 'ready' "
            "AND last_outcome IS DISTINCT FROM 'connected')") == 0

    await eventually(over, timeout=90)
    outcomes = dict(await dialer_pool.fetch(
        "SELECT outcome, count(*) FROM dialer_attempts GROUP BY outcome"))
    assert outcomes == {"connected": 35, "no_answer": 30, "busy": 15, "agent_rejected": 5}
    leads = {row["preinstallation_id"]: (row["state"], row["attempts"]) for row in
             await dialer_pool.fetch("SELECT preinstallation_id, state, attempts "
                                     "FROM dialer_leads")}
    assert {leads[f"p{n}"] for n in range(30)} == {("ready", 1)}      # called again tomorrow
    assert {leads[f"p{n}"] for n in range(30, 45)} == {("exhausted", 3)}
    assert {leads[f"p{n}"] for n in range(45, 50)} == {("ready", 1)}  # the rejection is free
    # every attempt that made a channel is joined to its call (the ChannelId)
    assert await dialer_pool.fetchval(
        "SELECT count(*) FROM dialer_attempts WHERE call_id = 'dl-' || "
        "replace(attempt_id::text, '-', '')") == 80
    assert set(await dialer_pool.fetchval(
        "SELECT array_agg(DISTINCT agent) FROM dialer_attempts")) == set(AGENTS)
    await no_agent_twice(dialer_pool)
    live = await redis.hgetall(keys.dialer_live("c1"))
    assert live["campaign_id"] == "c1" and live["in_flight"] == "0"
    for username in AGENTS:
        assert await redis.get(keys.dialer_agent_reservation(username)) is None


async def _equals(value, expected) -> bool:
    return (await value) == expected


async def test_dialing_stops_when_agents_go_unavailable_and_resumes(
        engine, dialer_store, dialer_pool, redis, keys, sim) -> None:
    sim.default_hold = 0.2
    await new_campaign(dialer_store, dialer_pool, leads=30, agents=("ana",))
    await set_agent(redis, keys, "ana")
    running = await engine()
    await eventually(lambda: _at_least(finished(dialer_pool), 2))
    await set_agent(redis, keys, "ana", "paused")

    async def quiet() -> bool:  # a step that saw her paused, with her last call over
        live = await redis.hgetall(keys.dialer_live("c1"))
        return (live.get("agents_available"), live.get("in_flight")) == ("0", "0") \
            and running.in_flight == 0

    await eventually(quiet)
    stopped_at = await _placed(dialer_pool)
    await asyncio.sleep(1.5)  # several engine steps and agent-state wake-ups
    assert await _placed(dialer_pool) == stopped_at
    assert await redis.get(keys.dialer_agent_reservation("ana")) is None
    await set_agent(redis, keys, "ana")
    await eventually(lambda: _at_least(_placed(dialer_pool), stopped_at + 2))
    await no_agent_twice(dialer_pool)


async def test_nothing_is_dialled_outside_the_window(engine, dialer_store, dialer_pool, redis,
                                                     keys, sim) -> None:
    local_hour = datetime.now(CDMX).hour
    closed = f"{(local_hour + 6) % 24:02d}:00-{(local_hour + 6) % 24:02d}:30"
    await new_campaign(dialer_store, dialer_pool, leads=5,
                       windows={"hours": {day: closed for day in WEEKDAYS}, "holidays": False})
    # due by the lead's own schedule: only the window keeps them from being dialled now
    await dialer_pool.execute("UPDATE dialer_leads SET next_at = now() - interval '1 hour'")
    for username in AGENTS:
        await set_agent(redis, keys, username)
    await engine()
    await asyncio.sleep(1.5)
    assert await _placed(dialer_pool) == 0 and not sim.live_calls()
    assert await dialer_pool.fetchval("SELECT count(*) FROM dialer_leads WHERE state = 'ready'") \
        == 5


async def test_do_not_call_numbers_are_never_dialled(engine, dialer_store, dialer_pool, redis,
                                                     keys, sim) -> None:
    await new_campaign(dialer_store, dialer_pool, leads=12)
    await dialer_store.add_leads("c1", [NewLead("no-consent", number(99), consent=False)],
                                 datetime.now(UTC))
    blocked = [f"+52{number(n)}" for n in (1, 5, 9)]
    await dialer_store.add_to_dnc(blocked, source="repep")
    for username in AGENTS:
        await set_agent(redis, keys, username)
    await engine()
    await eventually(lambda: _equals(finished(dialer_pool), 9))
    dialled = {row["phone"] for row in await dialer_pool.fetch(
        "SELECT phone FROM dialer_attempts")}
    assert len(dialled) == 9 and not dialled & {*blocked, f"+52{number(99)}"}
    await asyncio.sleep(1.0)
    assert await _placed(dialer_pool) == 9


async def _placed(pool) -> int:
    return await pool.fetchval("SELECT count(*) FROM dialer_attempts")


async def _at_least(value, expected) -> bool:
    return (await value) >= expected
