"""The whole path on real parts: PBX simulator → telephony → Redis → screenpop → agents, with
the index synced from the WispHub sandbox over HTTP."""
from __future__ import annotations

import dataclasses

import pytest

from screenpop.config import ScreenpopConfig
from screenpop.index import PreinstallationIndex
from screenpop.sandbox.server import WispHubSandbox
from screenpop.sync import IndexSync
from screenpop.wisphub.gateway import create_gateway
from telephony.config import TelephonyConfig
from telephony.service import TelephonyService, create_service
from telephony.simulator.server import PbxSimulator
from tests.screenpop.conftest import PASSWORD, Node, agents, users  # noqa: F401 (fixtures)

AGENTS = {"agente1": "PJSIP/6001", "agente2": "PJSIP/6002"}


@dataclasses.dataclass
class Stack:
    sandbox: WispHubSandbox
    simulator: PbxSimulator
    node: Node
    index: PreinstallationIndex
    telephony: TelephonyService


@pytest.fixture
async def stack(redis, redis_url, keys, users, database):  # noqa: F811 - pytest fixture
    sandbox = WispHubSandbox()
    await sandbox.start(port=0)
    config = ScreenpopConfig(redis_url=redis_url, redis_prefix=keys.prefix, port=0,
                             database_url=database,
                             secret_key="e2e-secret-key-0123456789", wisphub_url=sandbox.url,
                             wisphub_panel_url=sandbox.panel_url)
    gateway = create_gateway(config)
    index = PreinstallationIndex(redis, keys)
    report = await IndexSync(gateway, index, interval=3600).full_sync()
    assert report.count >= 30, report
    for username, endpoint in AGENTS.items():
        await users.add(username, PASSWORD, "agent", [endpoint])

    simulator = PbxSimulator(username="screenpop", secret="e2e-secret", login_failure_delay=0.05)
    await simulator.start()
    # the default agent patterns: the simulator's trunk (SIP/pstn-gw) must not count as an agent
    telephony = create_service(
        TelephonyConfig(ami_port=simulator.port, ami_secret="e2e-secret",
                        redis_prefix=keys.prefix, status_port=0, agi_port=0, ping_interval=0.5,
                        ping_timeout=1.0),
        redis=redis, retry_base=0.05, retry_cap=0.2, heartbeat_interval=0.2)
    await telephony.start()
    # IVR calls run their look-up against telephony's FastAGI server, as the dialplan does
    simulator.agi_target = ("127.0.0.1", telephony.ivr.port)
    node = await Node(config, redis, index).start()
    yield Stack(sandbox, simulator, node, index, telephony)
    await node.stop()
    await telephony.stop()
    await simulator.stop()
    await gateway.aclose()
    await sandbox.stop()
