"""The live campaign view over real sockets: a supervisor's WebSocket receives `campaigns`
frames (progress from PostgreSQL, the engine's live hash from Redis), again when attempts finish
in the database; an agent's WebSocket never does."""
from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from common.dialer.campaigns import Action
from common.dialer.outcomes import AttemptResult, Order, Outcome
from common.dialer.store import Campaign, Mode, NewLead
from screenpop.campaigns.state import CAMPAIGN_LIVE

CAMPAIGN = Campaign("live-1", "En vivo", Mode.PROGRESSIVE, Order.AGENT_FIRST, 3,
                    {"windows": {"hours": {d: "00:00-23:59" for d in
                                           ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
                                 "holidays": False}}, None, None, ("agente1",))


async def _frame(sock, kind="campaigns", timeout=8.0):
    async with asyncio.timeout(timeout):
        return await sock.next_of(kind)


async def test_campaigns_reach_supervisors_only(node, signed_in, store, book, redis, keys):
    await store.create_campaign(CAMPAIGN)
    now = datetime.now(UTC)
    await store.add_leads("live-1", [NewLead(f"p{i}", f"55000000{i:02d}") for i in range(4)], now)
    await book.change_state("live-1", Action.START)
    await redis.hset(keys.dialer_live("live-1"), mapping={
        "campaign_id": "live-1", "in_flight": "1", "dial_ratio": "1.5", "agents_available": "2",
        "agents_reserved": "1", "agents_on_call": "0", "answer_rate": "0.4",
        "abandon_rate_30d": "0.01", "last_error": "", "updated_at": str(now.timestamp())})

    agent = await signed_in("agente1")
    agent_sock = await agent.socket()
    boss = await signed_in("susana")
    sock = await boss.socket()
    first = await _frame(sock)
    assert first["version"] == 1
    [item] = first["campaigns"]
    assert item["campaign_id"] == "live-1" and item["state"] == "running"
    assert item["actions"] == ["pause", "stop"]
    assert item["progress"]["total"] == 4 and item["progress"]["pending"] == 4
    assert item["live"]["dial_ratio"] == 1.5 and item["live"]["in_flight"] == 1
    assert item["progress"]["abandon_rate_30d"] == 0.01

    # the engine's work, simulated: two attempts finish (one conversation, one busy)
    zones = await store.open_zones("live-1", now)
    claims = await store.claim("live-1", worker="w1", now=now, lease=timedelta(minutes=5),
                               open_zones=zones, limit=2)
    assert len(claims) == 2
    answered = now.timestamp()
    await store.finish(claims[0], AttemptResult(Outcome.CONNECTED, False, answered, answered,
                                                None, ""), now)
    await store.finish(claims[1], Outcome.BUSY, now)
    while True:
        frame = await _frame(sock)
        progress = frame["campaigns"][0]["progress"]
        if progress["contacted"] == 1:
            break
    assert progress["pending"] == 3 and progress["attempts"] == 2 and progress["answered"] == 1
    assert progress["contact_rate"] == 0.5
    assert sum(h["calls"] for h in progress["hourly"]) == 2

    # pausing from the page pushes the new state at once
    response = await boss.http.post(f"{node.url}/campaigns/live-1/pause",
                                    headers={"X-CSRF-Token": boss.csrf})
    assert response.status == 200
    while (await _frame(sock))["campaigns"][0]["state"] != "paused":
        pass

    # the agent's socket saw none of it
    try:
        async with asyncio.timeout(1.0):
            while True:
                message = await agent_sock.next(frozenset({"ping"}))
                assert message["type"] != "campaigns", message
    except TimeoutError:
        pass


async def test_activations_from_dispositions_and_call_records(node, store, book, pool):
    await store.create_campaign(CAMPAIGN)
    now = datetime.now(UTC)
    await store.add_leads("live-1", [NewLead(f"p{i}", f"55000000{i:02d}") for i in range(3)], now)
    claims = await store.claim("live-1", worker="w1", now=now, lease=timedelta(minutes=5),
                               open_zones=await store.open_zones("live-1", now), limit=3)
    for claim in claims:
        await store.finish(claim, AttemptResult(Outcome.CONNECTED, False, now.timestamp(),
                                                now.timestamp(), None, ""), now)
    await pool.execute("UPDATE dialer_attempts SET disposition = 'activado' WHERE attempt_id = $1",
                       claims[0].attempt_id)
    await pool.execute("INSERT INTO call_records (call_id, activated_at) VALUES ('k2', now())")
    await pool.execute("UPDATE dialer_attempts SET call_id = 'k2' WHERE attempt_id = $1",
                       claims[1].attempt_id)
    progress = await book.progress("live-1", now)
    assert (progress.activated, progress.contacted, progress.pending) == (2, 1, 0)
    assert sum(h["activations"] for h in progress.hourly) == 2
    assert progress.rates()["activation_rate"] == 2 / 3


async def test_engine_figures_are_pushed_when_the_engine_publishes(node, signed_in, store, book,
                                                                   redis, keys):
    """A slow timer, so only the engine's message on the live channel can bring the frame."""
    node.app[CAMPAIGN_LIVE]._interval = 60.0
    await store.create_campaign(CAMPAIGN)
    await book.change_state("live-1", Action.START)
    boss = await signed_in("susana")
    sock = await boss.socket()
    first = await _frame(sock)
    assert first["campaigns"][0]["live"] is None
    figures = {"campaign_id": "live-1", "in_flight": "2", "dial_ratio": "1.8",
               "agents_available": "1", "agents_reserved": "0", "agents_on_call": "2",
               "answer_rate": "0.5", "abandon_rate_30d": "0.02", "last_error": "",
               "updated_at": "1"}
    await redis.hset(keys.dialer_live("live-1"), mapping=figures)
    await redis.publish(keys.dialer_live_channel, json.dumps(figures))
    frame = await _frame(sock)
    live = frame["campaigns"][0]["live"]
    assert live["dial_ratio"] == 1.8 and live["agents_on_call"] == 2 and live["last_error"] is None
