"""Queue callbacks dialled in turn: requests stored by the real FastAGI `callback` script over TCP,
agents' states in the real Redis, a placer that records what would be dialled."""
from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest
import redis.asyncio as aioredis

from screenpop.agents import AgentStateStore
from telephony.config import TelephonyConfig
from telephony.dialer.queue_callbacks import (
    CallbackDispatcher,
    CallbackSettings,
    Request,
    after_attempt,
    dial_number,
    next_due,
)
from telephony.ivr import create_ivr
from telephony.queue_waits import QueueWaits
from telephony.simulator.agi_client import run_agi

T0 = 1_796_155_000.0
MEMBERS = ("PJSIP/6001", "PJSIP/6002")


class Clock:
    def __init__(self) -> None:
        self.now = T0 + 1000

    def __call__(self) -> float:
        return self.now


class FakePlacer:
    def __init__(self, outcome: str = "connected") -> None:
        self.calls = []
        self.outcome = outcome

    async def place(self, call):
        self.calls.append(call)
        return self.outcome


@pytest.fixture
async def agi_port(redis, keys):
    ivr = create_ivr(TelephonyConfig(agi_port=0, redis_prefix=keys.prefix, ami_port=1,
                                     status_port=0), redis=redis)
    await ivr.start()
    yield ivr.port
    await ivr.stop()


async def request_callback(port: int, caller: str, entered: float, preinst: str = "",
                           call: str = "1796155799.1") -> None:
    result = await run_agi("127.0.0.1", port,
                           f"callback?queue=ventas&entered={entered:.0f}&preinst={preinst}"
                           f"&call={call}", caller=caller)
    assert result.variables == {"SP_CALLBACK": "ok"}


async def agent(redis, keys, username: str, endpoint: str, state: str = "available") -> None:
    """An agent at `endpoint`, in `state`, as screenpop's agent-state store records it."""
    await AgentStateStore(redis, keys).update(username, lambda current: dataclasses.replace(
        current, state=state, since=T0, endpoint=endpoint))


def dispatcher(redis, keys, placer, waits=None, clock=None, worker="t1", **settings):
    settings = {"queues": {"ventas": MEMBERS}, "attempts": 2, "retry_delay": 60.0, **settings}
    return CallbackDispatcher(redis, keys, placer, waits or QueueWaits(), CallbackSettings(**settings),
                              worker=worker, clock=clock or Clock())


async def finish(tasks) -> list[str]:
    return list(await asyncio.gather(*tasks))


# --- pure ---------------------------------------------------------------------------------------

def req(place: float, **data) -> Request:
    return Request(json.dumps({"number": "+525512345678", **data}), place,
                   {"number": "+525512345678", **data})


def test_the_first_in_line_goes_first_and_nobody_passes_a_caller_still_waiting():
    first, second = req(T0), req(T0 + 10)
    assert next_due([first, second], now=T0 + 100, earliest_waiting=None) is first
    assert next_due([first, second], now=T0 + 100, earliest_waiting=T0 + 5) is first
    assert next_due([first, second], now=T0 + 100, earliest_waiting=T0 - 1) is None
    # a request waiting for its retry time lets the next one go, still behind the waiting caller
    later = req(T0, not_before=T0 + 500)
    assert next_due([later, second], now=T0 + 100, earliest_waiting=None) is second
    assert next_due([later, second], now=T0 + 100, earliest_waiting=T0 + 5) is None


def test_an_attempt_is_retried_then_recorded_as_failed():
    again, done = after_attempt(req(T0), "no_answer", now=T0, attempts=2, retry_delay=60)
    assert done is None and json.loads(again)["attempts"] == 1
    assert json.loads(again)["not_before"] == T0 + 60
    retry = Request(again, T0, json.loads(again))
    assert retry.id == req(T0).id  # the same callback across attempts
    again, done = after_attempt(retry, "busy", now=T0, attempts=2, retry_delay=60)
    assert again is None and done["outcome"] == "failed" and done["attempts"] == 2
    assert done["last_outcome"] == "busy"


def test_an_interrupted_attempt_is_not_counted_against_the_caller():
    again, done = after_attempt(req(T0, attempts=1), "interrupted", now=T0, attempts=2,
                                retry_delay=600)
    assert done is None and json.loads(again)["attempts"] == 1
    assert json.loads(again)["not_before"] == T0 + 30


def test_numbers_are_dialled_as_the_trunk_expects():
    assert dial_number("+525512345678") == "5512345678"
    assert dial_number("+14155550100") == "14155550100"


# --- against Redis and the FastAGI server ----------------------------------------------------------

async def test_callbacks_are_dialled_in_place_order_one_per_free_agent(redis, keys, agi_port):
    await request_callback(agi_port, "5215511110002", T0 + 20, call="c2")
    await request_callback(agi_port, "5215511110001", T0 + 10, preinst="1001", call="c1")
    await agent(redis, keys, "ana", "PJSIP/6001")
    await agent(redis, keys, "beto", "PJSIP/6002", state="in_call")
    placer = FakePlacer()
    dialled = await finish(await dispatcher(redis, keys, placer).run_once())
    assert dialled == ["connected"]
    [call] = placer.calls
    assert (call.endpoint, call.number) == ("PJSIP/6001", "5511110001")
    assert call.requested_in_call == "c1" and call.preinstallation_id == "1001"
    assert call.attempt_id.startswith(f"callback-{call.channel_id.split('-')[1]}-1-")
    assert call.channel_id.startswith("cb-") and len(call.channel_id) <= 40
    # the second waits for a free agent, keeping its place
    assert [json.loads(m)["number"] for m in await redis.zrange(
        keys.callback_requests("ventas"), 0, -1)] == ["+525511110002"]
    [finished] = await redis.zrange(keys.callbacks_finished("ventas"), 0, -1)
    assert json.loads(finished)["outcome"] == "connected"
    assert not await redis.exists(keys.dialer_agent_reservation("ana"))  # released


async def test_a_caller_who_joined_earlier_and_still_waits_goes_first(redis, keys, agi_port):
    await request_callback(agi_port, "5215511110001", T0 + 10)
    await agent(redis, keys, "ana", "PJSIP/6001")
    waits = QueueWaits()
    waits.feed({"Event": "QueueCallerJoin", "Queue": "ventas", "Uniqueid": "w1",
                "Timestamp": str(T0 + 5)})
    placer = FakePlacer()
    cb = dispatcher(redis, keys, placer, waits)
    assert await cb.run_once() == [] and placer.calls == []
    waits.feed({"Event": "QueueCallerLeave", "Queue": "ventas", "Uniqueid": "w1"})
    await finish(await cb.run_once())
    assert [c.number for c in placer.calls] == ["5511110001"]


async def test_an_agent_whose_pops_go_unacknowledged_is_not_given_a_callback(redis, keys,
                                                                            agi_port):
    await request_callback(agi_port, "5215511110001", T0 + 10)
    await agent(redis, keys, "ana", "PJSIP/6001")
    await AgentStateStore(redis, keys).update("ana", lambda s: dataclasses.replace(
        s, unreachable=True))
    assert await dispatcher(redis, keys, FakePlacer()).run_once() == []


async def test_a_reserved_agent_is_not_given_a_callback(redis, keys, agi_port):
    await request_callback(agi_port, "5215511110001", T0 + 10)
    await agent(redis, keys, "ana", "PJSIP/6001")
    await redis.set(keys.dialer_agent_reservation("ana"), "campaign-attempt-7", ex=60)
    placer = FakePlacer()
    assert await dispatcher(redis, keys, placer).run_once() == []
    assert await redis.zcard(keys.callback_requests("ventas")) == 1


async def test_two_processes_never_dial_one_request_twice(redis_url, redis, keys, agi_port):
    for n in range(6):
        await request_callback(agi_port, f"52155111100{n:02d}", T0 + n)
    for n in range(4):
        await agent(redis, keys, f"a{n}", f"PJSIP/60{n:02d}")
    members = tuple(f"PJSIP/60{n:02d}" for n in range(4))
    clients = [aioredis.from_url(redis_url, decode_responses=True) for _ in range(2)]
    placers = [FakePlacer(), FakePlacer()]
    try:
        racers = [dispatcher(c, keys, p, worker=f"w{i}", queues={"ventas": members})
                  for i, (c, p) in enumerate(zip(clients, placers))]
        for _ in range(3):
            started = await asyncio.gather(*(r.run_once() for r in racers))
            await finish([t for tasks in started for t in tasks])
    finally:
        for client in clients:
            await client.aclose()
    numbers = [c.number for p in placers for c in p.calls]
    assert sorted(numbers) == [f"55111100{n:02d}" for n in range(6)]  # each exactly once


async def test_a_claim_whose_process_died_goes_back_to_its_place(redis, keys, agi_port):
    await request_callback(agi_port, "5215511110001", T0 + 10)
    member = (await redis.zrange(keys.callback_requests("ventas"), 0, 0))[0]
    clock = Clock()
    await redis.zrem(keys.callback_requests("ventas"), member)
    await redis.hset(keys.callbacks_processing("ventas"), member, json.dumps(
        {"place": T0 + 10, "worker": "dead", "lease_until": clock.now - 1}))
    await agent(redis, keys, "ana", "PJSIP/6001")
    placer = FakePlacer()
    cb = dispatcher(redis, keys, placer, clock=clock)
    await finish(await cb.run_once())
    assert [c.number for c in placer.calls] == ["5511110001"] and cb.stats.recovered == 1
    assert not await redis.exists(keys.callbacks_processing("ventas"))


async def test_no_answer_is_retried_after_the_delay_then_recorded_failed(redis, keys, agi_port):
    await request_callback(agi_port, "5215511110001", T0 + 10)
    await agent(redis, keys, "ana", "PJSIP/6001")
    clock, placer = Clock(), FakePlacer("no_answer")
    cb = dispatcher(redis, keys, placer, clock=clock)
    assert await finish(await cb.run_once()) == ["no_answer"]
    [(member, place)] = await redis.zrange(keys.callback_requests("ventas"), 0, -1,
                                           withscores=True)
    assert place == T0 + 10 and json.loads(member)["attempts"] == 1  # same place in line
    assert await cb.run_once() == []  # not before the retry delay
    clock.now += 61
    assert await finish(await cb.run_once()) == ["no_answer"]
    assert await redis.zcard(keys.callback_requests("ventas")) == 0
    [failed] = await redis.zrange(keys.callbacks_finished("ventas"), 0, -1)
    failed = json.loads(failed)
    assert (failed["outcome"], failed["attempts"], failed["number"]) == ("failed", 2,
                                                                          "+525511110001")
    assert len(placer.calls) == 2 and cb.stats.failed == 1


async def test_a_placer_that_raises_counts_as_a_failed_attempt(redis, keys, agi_port):
    class Broken:
        async def place(self, call):
            raise ConnectionError("AMI not connected")

    await request_callback(agi_port, "5215511110001", T0 + 10)
    await agent(redis, keys, "ana", "PJSIP/6001")
    assert await finish(await dispatcher(redis, keys, Broken()).run_once()) == ["failed"]
    assert json.loads((await redis.zrange(keys.callback_requests("ventas"), 0, 0))[0])[
        "last_outcome"] == "failed"


async def test_every_change_of_a_queues_callbacks_is_announced(redis, keys, agi_port):
    """Supervisor pages read the list again when told (screenpop's bus relays the channel)."""
    pubsub = redis.pubsub()
    await pubsub.subscribe(keys.callbacks_channel)
    assert (await pubsub.get_message(timeout=5))["type"] == "subscribe"
    try:
        async def announced() -> list[str]:
            heard = []
            while (message := await pubsub.get_message(ignore_subscribe_messages=True,
                                                       timeout=0.5)) is not None:
                data = message["data"]
                heard.append(data.decode() if isinstance(data, bytes) else data)
            return heard

        await request_callback(agi_port, "5215511110001", T0 + 10)
        assert await announced() == ["ventas"]  # stored
        await agent(redis, keys, "ana", "PJSIP/6001")
        clock = Clock()
        cb = dispatcher(redis, keys, FakePlacer("no_answer"), clock=clock)
        assert await finish(await cb.run_once()) == ["no_answer"]
        assert await announced() == ["ventas", "ventas"]  # dialled, then back in line
        clock.now += 61
        assert await finish(await cb.run_once()) == ["no_answer"]
        assert await announced() == ["ventas", "ventas"]  # dialled, then failed for good
    finally:
        await pubsub.aclose()
