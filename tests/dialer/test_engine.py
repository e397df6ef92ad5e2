"""The dialer engine on real PostgreSQL and Redis, placing calls on the simulator over TCP."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from common.dialer.outcomes import Order
from common.dialer.store import NewLead
from common.dialer.windows import WEEKDAYS
from common.records.writer import RecordWriter, pool_connector
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

    async def live_settled() -> bool:  # the figures follow within a step
        live = await redis.hgetall(keys.dialer_live("c1"))
        return live.get("campaign_id") == "c1" and live.get("in_flight") == "0"

    await eventually(live_settled)

    async def no_agent_held() -> bool:
        # a free agent is reserved for a moment each time an engine looks for a lead (none left:
        # given back at once), and one whose phone did not take a call for a pause; what must not
        # happen is a reservation kept
        return all([await redis.get(keys.dialer_agent_reservation(username)) is None
                    for username in AGENTS])

    await eventually(no_agent_held)


async def test_an_agent_freed_by_a_call_is_announced_to_every_engine(
        engine, dialer_store, dialer_pool, redis, keys, sim) -> None:
    """The engine that held the agent is not the only one to know: the release is published,
    so another engine running the same agents offers the next call as quickly."""
    await new_campaign(dialer_store, dialer_pool, leads=1, agents=("ana",))
    pubsub = redis.pubsub()
    await pubsub.subscribe(keys.dialer_agents_freed_channel)
    await set_agent(redis, keys, "ana")
    await engine()
    await eventually(lambda: _at_least(finished(dialer_pool), 1))
    freed = []

    async def announced() -> bool:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
        if message is not None:
            freed.append(message["data"])
        return bool(freed)

    await eventually(announced)
    await pubsub.aclose()
    assert freed == ["ana"]
    assert await redis.get(keys.dialer_agent_reservation("ana")) is None


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


async def test_customer_first_progressive_hands_answered_customers_to_the_queue(
        engine, dialer_store, dialer_pool, redis, keys, sim) -> None:
    await new_campaign(dialer_store, dialer_pool, leads=12, order=Order.CUSTOMER_FIRST,
                       retry_minutes={"busy": 0})
    for n in (3, 7):
        sim.dialer.picker.force_next(f"52{number(n)}", "busy")
    for username in AGENTS:
        await set_agent(redis, keys, username)
    await engine()

    async def over() -> bool:
        return await dialer_pool.fetchval(
            "SELECT count(*) FROM dialer_leads WHERE last_outcome IS DISTINCT FROM "
            "'connected' OR state = 'dialing'") == 0

    await eventually(over, timeout=60)
    outcomes = dict(await dialer_pool.fetch(
        "SELECT outcome, count(*) FROM dialer_attempts GROUP BY outcome"))
    assert outcomes == {"connected": 12, "busy": 2}
    assert await dialer_pool.fetchval(
        "SELECT count(*) FROM dialer_attempts WHERE outcome = 'connected' AND answered "
        "AND agent_connected_at IS NOT NULL AND NOT abandoned") == 12
    await no_agent_twice(dialer_pool)


async def test_a_dialer_call_nobody_talked_in_leaves_a_whole_record(
        engine, dialer_store, dialer_pool, redis, keys, sim, database) -> None:
    """Telephony publishes no call no agent rang: the dialer records those itself."""
    writer = RecordWriter(pool_connector(database), retry_base=0.05, retry_cap=0.2)
    writer.start()
    try:
        await new_campaign(dialer_store, dialer_pool, leads=3, order=Order.CUSTOMER_FIRST)
        sim.dialer.picker.set_rule(f"52{number(0)}", "no_answer")
        sim.dialer.picker.set_rule(f"52{number(1)}", "busy")
        for username in AGENTS:
            await set_agent(redis, keys, username)
        await engine(records=writer.submit)
        await eventually(lambda: _equals(finished(dialer_pool), 3))
        assert await writer.flush(10)
        rows = await dialer_pool.fetch(
            "SELECT l.preinstallation_id AS lead, a.outcome, a.phone, r.preinstallation_id, "
            "r.direction, r.complete, r.customer_number, r.campaign_id, r.ring_at, "
            "r.answered_at, r.ended_at, r.unreached FROM dialer_attempts a "
            "JOIN dialer_leads l USING (lead_id) JOIN call_records r ON r.call_id = a.call_id "
            "ORDER BY l.preinstallation_id")
    finally:
        await writer.stop()
    assert [(r["lead"], r["outcome"], r["unreached"]) for r in rows] == [
        ("p0", "no_answer", "no_answer"), ("p1", "busy", "busy"), ("p2", "connected", None)]
    for row in rows[:2]:
        assert row["direction"] == "outbound" and row["complete"]
        assert row["customer_number"] == row["phone"] and row["campaign_id"] == "c1"
        assert row["preinstallation_id"] == row["lead"]
        assert row["ring_at"] <= row["ended_at"] and row["answered_at"] is None


async def test_pausing_the_campaign_stops_dialing_at_once_and_resuming_goes_on(
        engine, dialer_store, dialer_pool, redis, keys, sim) -> None:
    sim.default_speed = 1.0
    settings = sim.dialer.settings
    settings.ring_seconds = settings.agent_ring_seconds = 0.02
    settings.talk_seconds = 0.1
    await new_campaign(dialer_store, dialer_pool, leads=40, agents=("ana",))
    await set_agent(redis, keys, "ana")
    running = await engine(refresh_seconds=3600.0)  # only the control message can tell it
    await eventually(lambda: _at_least(finished(dialer_pool), 2))
    await dialer_pool.execute("UPDATE dialer_campaigns SET state = 'paused'")
    await redis.publish(keys.dialer_control_channel, "c1")

    async def paused() -> bool:
        live = await redis.hgetall(keys.dialer_live("c1"))
        return live.get("state") == "paused" and running.in_flight == 0

    await eventually(paused)
    stopped_at = await _placed(dialer_pool)
    await asyncio.sleep(1.0)
    assert await _placed(dialer_pool) == stopped_at
    await dialer_pool.execute("UPDATE dialer_campaigns SET state = 'running'")
    await redis.publish(keys.dialer_control_channel, "c1")
    await eventually(lambda: _at_least(_placed(dialer_pool), stopped_at + 2))


async def _history(pool, *, attempts: int, answered: int, abandoned: int) -> None:
    """Finished attempts of the campaign in the last days: what predictive pacing measures."""
    lead = await pool.fetchval("SELECT min(lead_id) FROM dialer_leads")
    await pool.execute(
        "INSERT INTO dialer_attempts (attempt_id, lead_id, campaign_id, phone, claimed_by, "
        "started_at, ended_at, outcome, answered, abandoned, answered_at, agent_connected_at) "
        "SELECT gen_random_uuid(), $1, 'c1', '+520000000000', 'past', "
        "now() - interval '1 day' - i * interval '1 minute', "
        "now() - interval '1 day' - i * interval '1 minute' + interval '70 seconds', "
        "CASE WHEN i <= $3 THEN 'connected' ELSE 'no_answer' END, i <= $3, i <= $4, "
        "CASE WHEN i <= $3 THEN now() - interval '1 day' - i * interval '1 minute' "
        "+ interval '5 seconds' END, CASE WHEN i <= $3 THEN now() - interval '1 day' "
        "- i * interval '1 minute' + interval '6 seconds' END "
        "FROM generate_series(1, $2) AS i", lead, attempts, answered, abandoned)


async def _peak(pool) -> int:
    """The most calls the engine had up at once."""
    return await pool.fetchval(
        "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM dialer_attempts a "
        "JOIN dialer_attempts b ON b.started_at <= a.started_at AND b.ended_at > a.started_at "
        "WHERE a.claimed_by <> 'past' AND b.claimed_by <> 'past' GROUP BY a.attempt_id) x")


async def _predictive(engine, dialer_store, dialer_pool, redis, keys, sim, *, abandoned: int):
    from common.dialer.store import Mode

    sim.default_speed = 1.0
    sim.dialer.settings.ring_seconds = 0.05
    await new_campaign(dialer_store, dialer_pool, leads=30, agents=("ana", "luis"),
                       order=Order.CUSTOMER_FIRST, mode=Mode.PREDICTIVE, ring_seconds=1,
                       retry_minutes={"no_answer": 0})
    for n in range(30):  # a list where few answer: the ratio must rise above one per agent
        sim.dialer.picker.set_rule(f"52{number(n)}", "no_answer")
    await _history(dialer_pool, attempts=60, answered=12, abandoned=abandoned)
    for username in ("ana", "luis"):
        await set_agent(redis, keys, username)
    await engine()
    await eventually(lambda: _at_least(finished(dialer_pool), 60 + 20), timeout=60)


async def test_predictive_dials_more_calls_than_idle_agents_when_few_answer(
        engine, dialer_store, dialer_pool, redis, keys, sim) -> None:
    await _predictive(engine, dialer_store, dialer_pool, redis, keys, sim, abandoned=0)
    peak = await _peak(dialer_pool)
    assert 2 < peak <= 10  # above one call per idle agent, never past max_ratio (5) per agent


async def test_two_engines_on_one_predictive_campaign_pace_it_as_one(
        engine, dialer_store, dialer_pool, redis, keys, sim) -> None:
    from common.dialer.store import Mode

    sim.default_speed = 1.0
    sim.dialer.settings.ring_seconds = 0.05
    await new_campaign(dialer_store, dialer_pool, leads=30, agents=("ana", "luis"),
                       order=Order.CUSTOMER_FIRST, mode=Mode.PREDICTIVE, ring_seconds=1,
                       retry_minutes={"no_answer": 0})
    for n in range(30):
        sim.dialer.picker.set_rule(f"52{number(n)}", "no_answer")
    await _history(dialer_pool, attempts=60, answered=12, abandoned=0)
    for username in ("ana", "luis"):
        await set_agent(redis, keys, username)
    await engine("w1")
    await engine("w2")
    await eventually(lambda: _at_least(finished(dialer_pool), 60 + 40), timeout=90)
    # one engine paces the calls beyond one per free agent; the other adds one per agent at most
    overlapping = await dialer_pool.fetchval(
        "SELECT count(*) FROM dialer_attempts a JOIN dialer_attempts b "
        "ON a.claimed_by <> b.claimed_by AND b.started_at < a.ended_at "
        "AND a.started_at < b.ended_at "
        "WHERE a.agent IS NULL AND b.agent IS NULL AND 'past' NOT IN (a.claimed_by, b.claimed_by)")
    assert overlapping == 0
    assert 2 < await _peak(dialer_pool) <= 10  # never past max_ratio (5) per agent


async def test_predictive_at_the_abandonment_cap_paces_one_call_per_agent(
        engine, dialer_store, dialer_pool, redis, keys, sim) -> None:
    # 1 of 12 answered calls abandoned in 30 days: 8 %, over the 3 % cap
    await _predictive(engine, dialer_store, dialer_pool, redis, keys, sim, abandoned=1)
    assert await _peak(dialer_pool) <= 2
    live = await redis.hgetall(keys.dialer_live("c1"))
    assert float(live["abandon_rate_30d"]) > 0.03


async def test_an_agent_whose_phone_refuses_waits_before_the_next_record(
        engine, dialer_store, dialer_pool, redis, keys, sim) -> None:
    await new_campaign(dialer_store, dialer_pool, leads=3, agents=("ana",),
                       retry_minutes={"agent_rejected": 0})
    sim.dialer.picker.force_next(f"52{number(0)}", "agent_unreachable")
    await set_agent(redis, keys, "ana")
    await engine(rejected_pause_seconds=1.5)
    await eventually(lambda: _at_least(finished(dialer_pool), 1))
    assert (await redis.get(keys.dialer_agent_reservation("ana"))).startswith("held-")
    assert await _placed(dialer_pool) == 1
    live = await redis.hgetall(keys.dialer_live("c1"))
    await eventually(lambda: _equals(finished(dialer_pool), 4))  # then all three, p0 again
    assert dict(await dialer_pool.fetch("SELECT outcome, count(*) FROM dialer_attempts "
                                        "GROUP BY outcome")) == {"agent_rejected": 1,
                                                                 "connected": 3}
    assert live["campaign_id"] == "c1"


# The simulator plays AMD's verdict as recorded, a VarSet (dialplan class); the deployed AMI user
# gets it from the dialplan's UserEvent instead (test_outcomes_replay covers that stream).
@pytest.mark.parametrize("ami_events", ["on"])
async def test_answering_machines_are_detected_customer_first_and_retried_by_their_rule(
        engine, dialer_store, dialer_pool, redis, keys, sim, ami_events) -> None:
    await new_campaign(dialer_store, dialer_pool, leads=4, order=Order.CUSTOMER_FIRST, amd=True)
    for n in (0, 1):
        sim.dialer.picker.set_rule(f"52{number(n)}", "machine")
    for username in AGENTS:
        await set_agent(redis, keys, username)
    await engine()
    await eventually(lambda: _equals(finished(dialer_pool), 4))
    rows = {row["preinstallation_id"]: (row["last_outcome"], row["next_at"] - row["at"])
            for row in await dialer_pool.fetch(
                "SELECT preinstallation_id, last_outcome, next_at, last_attempt_at AS at "
                "FROM dialer_leads")}
    assert {rows[p][0] for p in ("p0", "p1")} == {"machine"}
    assert {rows[p][0] for p in ("p2", "p3")} == {"connected"}
    assert all(rows[p][1].total_seconds() >= 4 * 3600 for p in ("p0", "p1"))  # machine: 4 h
    assert not await dialer_pool.fetchval("SELECT bool_or(answered) FROM dialer_attempts "
                                          "WHERE outcome = 'machine'")


async def test_a_callback_for_one_agent_is_dialled_first_and_only_for_them(
        engine, dialer_store, dialer_pool, redis, keys, sim) -> None:
    from common.dialer.store import Disposition

    await new_campaign(dialer_store, dialer_pool, leads=6)
    lead = await dialer_pool.fetchrow("SELECT * FROM dialer_leads WHERE preinstallation_id = "
                                      "'p5'")
    attempt = await dialer_pool.fetchval(
        "INSERT INTO dialer_attempts (attempt_id, lead_id, campaign_id, phone, claimed_by, "
        "outcome, ended_at) VALUES (gen_random_uuid(), $1, 'c1', $2, 'past', 'connected', now()) "
        "RETURNING attempt_id", lead["lead_id"], lead["phone"])
    assert await dialer_store.set_disposition(attempt, "volver a llamar", Disposition.CALLBACK,
                                              datetime.now(UTC), callback_at=datetime.now(UTC),
                                              callback_agent="luis", by="luis")
    await set_agent(redis, keys, "ana")
    await engine()
    await eventually(lambda: _equals(finished(dialer_pool), 5 + 1))
    assert await dialer_pool.fetchval("SELECT count(*) FROM dialer_attempts a JOIN dialer_leads "
                                      "l USING (lead_id) WHERE l.preinstallation_id = 'p5' "
                                      "AND a.claimed_by <> 'past'") == 0
    await set_agent(redis, keys, "luis")

    async def called_back() -> bool:
        return await dialer_pool.fetchval(
            "SELECT a.agent FROM dialer_attempts a JOIN dialer_leads l USING (lead_id) "
            "WHERE l.preinstallation_id = 'p5' AND a.claimed_by <> 'past'") == "luis"

    await eventually(called_back)
