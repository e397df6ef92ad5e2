"""Fixtures: a PBX simulator on a free port and listeners/services aimed at it."""
from __future__ import annotations

import asyncio
import dataclasses

import pytest

from telephony.config import TelephonyConfig
from telephony.simulator.server import PbxSimulator

USERNAME = "screenpop"
SECRET = "s3cret-demo"


@pytest.fixture
async def sim():
    simulator = PbxSimulator(username=USERNAME, secret=SECRET, login_failure_delay=0.05)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
def config(sim, keys) -> TelephonyConfig:
    """Fast watchdogs so failures show up in a fraction of a second. Agents are PJSIP phones
    only: the simulator's trunk is `SIP/pstn-gw`, which the default `SIP/*` would count as one."""
    return TelephonyConfig(ami_port=sim.port, ami_username=USERNAME, ami_secret=SECRET,
                           agent_endpoint_patterns=("PJSIP/*",),
                           redis_prefix=keys.prefix, status_port=0, agi_port=0, ping_interval=0.1,
                           ping_timeout=0.3, login_timeout=2.0)


def with_changes(config: TelephonyConfig, **changes) -> TelephonyConfig:
    return dataclasses.replace(config, **changes)


async def next_item(queue: asyncio.Queue, timeout: float = 10.0):
    try:
        return await asyncio.wait_for(queue.get(), timeout)
    except TimeoutError:
        raise AssertionError("nothing arrived on the listener's queue before the deadline") from None


@pytest.fixture
async def bus(redis, keys):
    """A subscriber on the call bus, subscribed before anything is published."""
    pubsub = redis.pubsub()
    await pubsub.subscribe(keys.calls_channel)
    yield pubsub
    await pubsub.aclose()


@pytest.fixture
async def services(redis):
    """Factory of started TelephonyServices (fast retries); all stopped at teardown."""
    from telephony.service import create_service

    started = []

    async def make(config: TelephonyConfig, client=None):
        service = create_service(config, redis=client or redis, retry_base=0.05, retry_cap=0.2,
                                 heartbeat_interval=0.2)
        await service.start()
        started.append(service)
        return service

    yield make
    for service in reversed(started):
        await service.stop()
