"""The call path with records on: PBX simulator → telephony → Redis → screenpop, both writing
call records into a fresh PostgreSQL database of their own."""
from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import Awaitable, Callable

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from common.db.pool import create_pool
from common.records.writer import RecordWriter
from screenpop.config import ScreenpopConfig
from screenpop.index import PreinstallationIndex
from screenpop.sandbox.server import WispHubSandbox
from screenpop.sync import IndexSync
from screenpop.web.app import create_app
from screenpop.web.state import BUS
from screenpop.wisphub.gateway import create_gateway
from telephony.config import TelephonyConfig
from telephony.service import TelephonyService, create_service
from telephony.simulator.server import PbxSimulator
from tests.screenpop.conftest import PASSWORD, Node, agents, users  # noqa: F401 (fixtures)

AGENTS = {"agente1": "PJSIP/6001", "agente2": "PJSIP/6002"}
WAIT = 15.0


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Target:
    """Where a writer connects, changeable while it runs (a database that goes and comes back)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def connector(self) -> Callable[[], Awaitable[asyncpg.Pool]]:
        return lambda: create_pool(self.url, min_size=1, max_size=2)


class RecordingNode(Node):
    def __init__(self, *args, record_writer: RecordWriter, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.record_writer = record_writer

    async def start(self) -> RecordingNode:
        self.app = create_app(self.config, redis=self.redis, index=self.index,
                              gateway=self.gateway, agent_settings=self.agent_settings,
                              provider=self.provider, action_settings=self.action_settings,
                              record_writer=self.record_writer)
        self.runner = web.AppRunner(self.app, shutdown_timeout=2.0)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]
        await asyncio.wait_for(self.app[BUS].ready.wait(), WAIT)
        return self


class CapturingWriter(RecordWriter):
    """A RecordWriter that also keeps every fact submitted, to replay them."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.facts: list = []

    def submit(self, fact) -> None:
        self.facts.append(fact)
        super().submit(fact)


@dataclasses.dataclass
class RecordStack:
    simulator: PbxSimulator
    node: RecordingNode
    telephony: TelephonyService
    database: str
    redis: object
    keys: object
    target: Target

    def telephony_service(self, **kwargs) -> TelephonyService:
        return create_service(
            TelephonyConfig(ami_port=self.simulator.port, ami_secret="e2e-secret",
                            redis_prefix=self.keys.prefix, status_port=0, ping_interval=0.5,
                            ping_timeout=1.0, tz_name="America/Mexico_City", agi_port=0),
            redis=self.redis, retry_base=0.05, retry_cap=0.2, heartbeat_interval=0.2, **kwargs)

    async def metric(self, name: str) -> float:
        """One figure of telephony's /metrics."""
        url = f"http://127.0.0.1:{self.telephony.status_port}/metrics"
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            text = await response.text()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name:
                    return sample.value
        raise AssertionError(f"{name} not in /metrics")

    async def restart_telephony(self, **kwargs) -> None:
        await self.telephony.stop()
        self.telephony = self.telephony_service(**kwargs)
        await self.telephony.start()

    async def record(self, call_id: str, *, complete: bool | None = None,
                     until: Callable[[dict], bool] = lambda r: r["direction"] != "unknown",
                     ) -> dict:
        """The call's record once `until` holds (by default: once telephony wrote it) and it is
        complete or not (when asked), with its channels, agents and events."""
        conn = await asyncpg.connect(self.database, timeout=5)
        try:
            async with asyncio.timeout(WAIT):
                while True:
                    record = await self._read(conn, call_id)
                    if record is not None and (
                            complete is None or record["complete"] == complete) and until(record):
                        return record
                    await asyncio.sleep(0.05)
        finally:
            await conn.close()

    @staticmethod
    async def _read(conn: asyncpg.Connection, call_id: str) -> dict | None:
        row = await conn.fetchrow("SELECT * FROM call_records WHERE call_id = $1", call_id)
        if row is None:
            return None
        return {
            **dict(row),
            "channels": [dict(r) for r in await conn.fetch(
                "SELECT uniqueid, channel FROM call_channels WHERE call_id = $1 "
                "ORDER BY uniqueid", call_id)],
            "agents": [dict(r) for r in await conn.fetch(
                "SELECT * FROM call_agents WHERE call_id = $1 ORDER BY position", call_id)],
            "events": {r["event_key"]: dict(r) for r in await conn.fetch(
                "SELECT * FROM call_events WHERE call_id = $1 ORDER BY at", call_id)},
        }


@pytest.fixture
async def record_stack(redis, redis_url, keys, users, database):  # noqa: F811 - pytest fixture
    sandbox = WispHubSandbox()
    await sandbox.start(port=0)
    config = ScreenpopConfig(redis_url=redis_url, redis_prefix=keys.prefix, port=0,
                             database_url=database,
                             secret_key="e2e-secret-key-0123456789", wisphub_url=sandbox.url,
                             wisphub_panel_url=sandbox.panel_url)
    gateway = create_gateway(config)
    index = PreinstallationIndex(redis, keys)
    await IndexSync(gateway, index, interval=3600).full_sync()
    for username, endpoint in AGENTS.items():
        await users.add(username, PASSWORD, "agent", [endpoint])
    simulator = PbxSimulator(username="screenpop", secret="e2e-secret", login_failure_delay=0.05)
    await simulator.start()
    target = Target(database)
    stack = RecordStack(simulator, None, None, database, redis, keys, target)  # type: ignore[arg-type]
    stack.telephony = stack.telephony_service(
        records=RecordWriter(target.connector(), retry_base=0.05, retry_cap=0.2))
    await stack.telephony.start()
    stack.node = await RecordingNode(
        config, redis, index, gateway=gateway,
        record_writer=RecordWriter(target.connector(), retry_base=0.05, retry_cap=0.2)).start()
    yield stack
    await stack.node.stop()
    await stack.telephony.stop()
    await simulator.stop()
    await gateway.aclose()
    await sandbox.stop()
