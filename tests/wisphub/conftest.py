"""A real WispHub sandbox on a free port, and clients pointed at it with short timeouts."""
from __future__ import annotations

from dataclasses import replace

import pytest

from screenpop.config import ScreenpopConfig
from screenpop.index import PreinstallationIndex
from screenpop.sync import IndexSync
from screenpop.wisphub.gateway import create_gateway
from screenpop.wisphub.http import RetryPolicy

FAST = RetryPolicy(attempts=3, base=0.01, cap=0.05)


@pytest.fixture
def config(sandbox) -> ScreenpopConfig:
    return replace(ScreenpopConfig(), wisphub_url=sandbox.url, wisphub_panel_url=sandbox.panel_url,
                   wisphub_timeout=0.5)


@pytest.fixture
async def gateway(config):
    gw = create_gateway(config, policy=FAST)
    yield gw
    await gw.aclose()


@pytest.fixture
def index(redis, keys) -> PreinstallationIndex:
    return PreinstallationIndex(redis, keys)


@pytest.fixture
def sync(gateway, index) -> IndexSync:
    return IndexSync(gateway, index, interval=60.0, retry_base=0.01)
