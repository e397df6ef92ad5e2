"""The queue callbacks inside the telephony service: configured by CALLBACK_QUEUES, fed the queue
waits from the AMI stream, dialling through the dialer's Originate executor on the simulator.
A caller leaves the queue asking for a callback (the simulator runs the FastAGI `callback`
against the service's own server); the callback is dialled when the agent is available, and
one that is never answered is retried, then recorded as failed."""
from __future__ import annotations

import asyncio
import dataclasses
import json

import aiohttp
import pytest

from common.settings import ConfigError
from screenpop.agents import AgentStateStore, signed_in
from telephony.config import TelephonyConfig, parse_callback_queues
from telephony.service import create_service

CALLER = dict(customer="5215512345678", name="Juan Perez", agents=[], speed=0.0)


def test_callback_queues_are_read_from_the_environment():
    assert parse_callback_queues("") == ()
    assert parse_callback_queues("ventas=PJSIP/6001,PJSIP/6002; soporte=PJSIP/6003") == (
        ("ventas", ("PJSIP/6001", "PJSIP/6002")), ("soporte", ("PJSIP/6003",)))
    config = TelephonyConfig.from_env({"CALLBACK_QUEUES": "ventas=PJSIP/6001",
                                       "CALLBACK_ATTEMPTS": "2"})
    assert config.callback_queues == (("ventas", ("PJSIP/6001",)),)
    assert config.callback_attempts == 2
    for bad in ("ventas", "ventas=", "=PJSIP/6001", "ventas=6001"):
        with pytest.raises(ConfigError, match="CALLBACK_QUEUES: use cola=EXTENSIÓN"):
            parse_callback_queues(bad)


@pytest.fixture
async def service(sim, ami_config, redis):
    config = dataclasses.replace(ami_config, callback_queues=(("ventas", ("PJSIP/6001",)),),
                                 callback_interval=0.05, callback_attempts=2,
                                 callback_retry_seconds=1.0, dialer_ring_seconds=5.0)
    telephony = create_service(config, redis=redis, retry_base=0.05, retry_cap=0.2,
                               heartbeat_interval=0.2)
    await telephony.start()
    sim.agi_target = ("127.0.0.1", telephony.ivr.port)
    yield telephony
    await telephony.stop()


async def sign_in(redis, keys, username: str, endpoint: str) -> None:
    """An agent signed in at `endpoint`, as screenpop's agent-state store records it."""
    await AgentStateStore(redis, keys).update(username, lambda s: signed_in(s, 1.0, endpoint))


async def finished(redis, keys, timeout: float = 20.0) -> dict:
    async with asyncio.timeout(timeout):
        while not (done := await redis.zrange(keys.callbacks_finished("ventas"), 0, -1)):
            await asyncio.sleep(0.05)
    [record] = done
    return json.loads(record)


async def test_a_callback_is_dialled_once_an_agent_is_available(service, sim, redis, keys):
    call = await sim.start_call("ivr_callback", **CALLER)
    await call.wait_done()
    assert await redis.zcard(keys.callback_requests("ventas")) == 1
    await asyncio.sleep(0.3)  # several rounds of the loop with nobody available
    assert await redis.zcard(keys.callback_requests("ventas")) == 1
    assert service.callbacks.stats.dialled == 0

    await sign_in(redis, keys, "ana", "PJSIP/6001")
    done = await finished(redis, keys)
    assert (done["outcome"], done["attempts"], done["number"]) == ("connected", 1,
                                                                   "+525512345678")
    assert done["call_id"] == call.call_id
    assert sim.dialer.placed == {"connected": 1}
    assert await redis.zcard(keys.callback_requests("ventas")) == 0
    metrics = await metrics_text(service)
    assert 'telephony_callbacks_total{event="connected"} 1.0' in metrics


async def test_a_callback_nobody_answers_is_retried_then_recorded_failed(service, sim, redis,
                                                                        keys):
    sim.dialer.configure({"weights": {"no_answer": 1}})
    await sign_in(redis, keys, "ana", "PJSIP/6001")
    call = await sim.start_call("ivr_callback", **CALLER)
    await call.wait_done()
    done = await finished(redis, keys)
    assert (done["outcome"], done["attempts"], done["last_outcome"]) == ("failed", 2, "no_answer")
    assert sim.dialer.placed == {"no_answer": 2}


async def metrics_text(service) -> str:
    async with aiohttp.ClientSession() as http, http.get(
            f"http://127.0.0.1:{service.status_port}/metrics") as response:
        return await response.text()
