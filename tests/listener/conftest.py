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
    """Fast watchdogs so failures show up in a fraction of a second."""
    return TelephonyConfig(ami_port=sim.port, ami_username=USERNAME, ami_secret=SECRET,
                           redis_prefix=keys.prefix, status_port=0, ping_interval=0.1,
                           ping_timeout=0.3, login_timeout=2.0)


def with_changes(config: TelephonyConfig, **changes) -> TelephonyConfig:
    return dataclasses.replace(config, **changes)


async def next_item(queue: asyncio.Queue, timeout: float = 10.0):
    try:
        return await asyncio.wait_for(queue.get(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError("nothing arrived on the listener's queue before the deadline") from None
