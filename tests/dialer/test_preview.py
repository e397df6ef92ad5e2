"""Preview campaigns: the engine puts a record on the agent's screen (offer hash + publication)
and follows the agent's «saltar» / «llamar» from the commands list; an offer nobody answers is
withdrawn and its lead is due again, not counted."""
from __future__ import annotations

import asyncio
import json

from common.dialer.store import Mode
from tests.dialer.conftest import eventually, new_campaign, set_agent


async def next_offer(pubsub, timeout: float = 10.0) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
        if message is not None:
            return json.loads(message["data"])
        assert asyncio.get_running_loop().time() < deadline, "no offer published"


async def command(redis, keys, offer: dict, action: str, by: str = "ana") -> None:
    await redis.rpush(keys.dialer_commands(offer["worker"]), json.dumps(
        {"attempt_id": offer["attempt_id"], "action": action, "by": by}))


async def test_preview_skip_then_call(engine, dialer_store, dialer_pool, redis, keys, sim):
    await new_campaign(dialer_store, dialer_pool, leads=3, agents=("ana",), mode=Mode.PREVIEW)
    pubsub = redis.pubsub()
    await pubsub.subscribe(keys.dialer_offers_channel)
    await set_agent(redis, keys, "ana")
    await engine("w-preview")
    first = await next_offer(pubsub)
    assert first["username"] == "ana"
    offer = first["offer"]
    assert offer["campaign_id"] == "c1" and offer["campaign_name"] == "Campaña c1"
    assert offer["worker"] == "w-preview" and offer["phone"].startswith("+5255")
    stored = await redis.hgetall(keys.dialer_offer("ana"))
    assert stored["attempt_id"] == offer["attempt_id"]
    assert not sim.live_calls()  # nothing is dialled before the agent decides

    await command(redis, keys, offer, "skip", by="luis")  # not her offer: ignored
    await command(redis, keys, offer, "skip")
    assert (await next_offer(pubsub))["offer"] is None
    skipped = await dialer_pool.fetchrow(
        "SELECT a.outcome, l.attempts, l.state FROM dialer_attempts a JOIN dialer_leads l "
        "USING (lead_id) WHERE a.attempt_id = $1::uuid", offer["attempt_id"])
    assert dict(skipped) == {"outcome": "skipped", "attempts": 0, "state": "ready"}

    second = (await next_offer(pubsub))["offer"]
    assert second["attempt_id"] != offer["attempt_id"]
    assert second["preinstallation_id"] != offer["preinstallation_id"]
    await command(redis, keys, second, "call")

    async def connected():
        return await dialer_pool.fetchval(
            "SELECT outcome FROM dialer_attempts WHERE attempt_id = $1::uuid",
            second["attempt_id"]) == "connected"

    await eventually(connected)
    row = await dialer_pool.fetchrow("SELECT agent, call_id FROM dialer_attempts "
                                     "WHERE attempt_id = $1::uuid", second["attempt_id"])
    assert row["agent"] == "ana" and row["call_id"].startswith("dl-")
    await pubsub.aclose()


async def test_an_offer_nobody_answers_is_withdrawn_and_not_counted(
        engine, dialer_store, dialer_pool, redis, keys, sim):
    await new_campaign(dialer_store, dialer_pool, leads=1, agents=("ana",), mode=Mode.PREVIEW)
    pubsub = redis.pubsub()
    await pubsub.subscribe(keys.dialer_offers_channel)
    await set_agent(redis, keys, "ana")
    await engine(offer_seconds=0.5)
    offer = (await next_offer(pubsub))["offer"]
    assert (await next_offer(pubsub))["offer"] is None
    row = await dialer_pool.fetchrow(
        "SELECT a.outcome, l.attempts FROM dialer_attempts a JOIN dialer_leads l "
        "USING (lead_id) WHERE a.attempt_id = $1::uuid", offer["attempt_id"])
    assert dict(row) == {"outcome": "interrupted", "attempts": 0}
    assert await redis.hgetall(keys.dialer_offer("ana")) == {}
    assert await redis.get(keys.dialer_agent_reservation("ana")) is None
    await pubsub.aclose()
