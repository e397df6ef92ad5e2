"""Fixtures: the IVR's FastAGI server on a free port, reading an index that screenpop's own
writer (screenpop.index) filled in the real Redis."""
from __future__ import annotations

import asyncio
import dataclasses

import pytest

from screenpop.index import PreinstallationIndex
from screenpop.wisphub.models import Preinstallation
from telephony.config import TelephonyConfig
from telephony.ivr import create_ivr

CALLER = "+525512345678"  # agi_callerid 5215512345678 in the recorded environment


def preinstallation(record_id: str, name: str, *phones: str) -> Preinstallation:
    return Preinstallation(id=record_id, username=None, name=name, phones=phones or (CALLER,),
                           phone_raw=(phones or (CALLER,))[0], email=None, address=None,
                           zone=None, created_at=None, missing=(), activation_path=None)


@pytest.fixture
def index(redis, keys) -> PreinstallationIndex:
    return PreinstallationIndex(redis, keys)


@pytest.fixture
def config(keys) -> TelephonyConfig:
    return TelephonyConfig(agi_port=0, redis_prefix=keys.prefix, agi_lookup_budget=0.3,
                           ami_port=1, status_port=0)


@pytest.fixture
async def ivr_factory(redis):
    """Started IVRs (any Redis client, any config changes); all stopped at teardown."""
    started = []

    async def start(config: TelephonyConfig, client=None, **changes):
        ivr = create_ivr(dataclasses.replace(config, **changes), redis=client or redis)
        await ivr.start()
        started.append(ivr)
        return ivr

    yield start
    for ivr in started:
        await ivr.stop()


@pytest.fixture
async def ivr(ivr_factory, config):
    return await ivr_factory(config)


async def settled(ivr, timeout: float = 10.0) -> None:
    """Wait until the server has finished with every connection (a spinning handler never does)."""
    async with asyncio.timeout(timeout):
        while ivr.server.active:
            await asyncio.sleep(0.01)
