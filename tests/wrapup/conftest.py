"""A screenpop node with call records and the dialer store on a database of its own, agents
signed in over HTTP, and a dialer attempt made the way the engine makes one."""
from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from aiohttp import web

from common.db.pool import create_pool
from common.dialer.outcomes import Order, Outcome
from common.dialer.store import Campaign, DialerStore, Mode, NewLead
from common.dialer.windows import WEEKDAYS
from common.records.writer import RecordWriter
from screenpop.web.app import create_app
from screenpop.web.state import BUS
from tests.records.conftest import Target
from tests.screenpop.conftest import (  # noqa: F401 (fixtures)
    PASSWORD,
    TIMEOUT,
    Agent,
    Node,
    Telephony,
    config,
    index,
    telephony,
    users,
)

WAIT = 10.0
ALWAYS_OPEN = {"hours": {day: "00:00-23:59:59" for day in WEEKDAYS}, "holidays": False}


class WrapNode(Node):
    """A node that writes call records and reaches the dialer tables on `database`."""

    def __init__(self, *args, database: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.database = database

    async def start(self) -> WrapNode:
        writer = RecordWriter(Target(self.database).connector(), retry_base=0.05, retry_cap=0.2)
        self.app = create_app(self.config, redis=self.redis, index=self.index,
                              record_writer=writer, database_url=self.database,
                              users=self.users)
        self.runner = web.AppRunner(self.app, shutdown_timeout=2.0)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]
        await asyncio.wait_for(self.app[BUS].ready.wait(), TIMEOUT)
        return self


@pytest.fixture
async def floor(config, redis, index, users, database):  # noqa: F811
    """ana (PJSIP/6001) and beto (PJSIP/6002), agents; sofia, supervisor; all signed in."""
    await users.add("ana", PASSWORD, "agent", ["PJSIP/6001"], "Ana Torres")
    await users.add("beto", PASSWORD, "agent", ["PJSIP/6002"], "Beto Ruiz")
    await users.add("sofia", PASSWORD, "supervisor", [], "Sofía")
    node = await WrapNode(config, redis, index, database=database, users=users).start()
    signed = {}
    for name in ("ana", "beto", "sofia"):
        signed[name] = Agent(node, name)
        assert (await signed[name].sign_in()).status == 302
    yield node, signed
    for agent in signed.values():
        await agent.close()
    await node.stop()


async def post(agent: Agent, path: str, body, *, csrf: bool = True) -> tuple[int, dict]:
    headers = {"X-CSRF-Token": agent.csrf} if csrf else {}
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    async with agent.http.post(f"{agent.node.url}{path}", data=data, headers={
            **headers, "Content-Type": "application/json"}) as response:
        return response.status, await response.json()


async def get(agent: Agent, path: str) -> tuple[int, dict]:
    async with agent.http.get(f"{agent.node.url}{path}") as response:
        return response.status, await response.json()


async def row_when(database: str, query: str, *args, until: Callable = bool):
    conn = await asyncpg.connect(database, timeout=5)
    try:
        async with asyncio.timeout(WAIT):
            while True:
                row = await conn.fetchrow(query, *args)
                if row is not None and until(row):
                    return row
                await asyncio.sleep(0.05)
    finally:
        await conn.close()


@pytest.fixture
async def dialer(database):
    pool = await create_pool(database, min_size=1, max_size=4)
    yield DialerStore(pool, default_zone="America/Mexico_City"), pool
    await pool.close()


async def connected_attempt(store: DialerStore, **lead) -> uuid.UUID:
    """A campaign with one lead, claimed and finished as a conversation, as the engine does;
    returns the attempt id (what the call carries as SP_CALL)."""
    claim = await claimed_attempt(store, **lead)
    assert await store.finish(claim, Outcome.CONNECTED, datetime.now(UTC))
    return claim.attempt_id


async def claimed_attempt(store: DialerStore, *, preinstallation: str = "1842",
                          phone: str = "5512345678", zone: str | None = None,
                          agent: str = "ana"):
    """A campaign with one lead the engine is dialling now (its call is live)."""
    now = datetime.now(UTC)
    await store.create_campaign(Campaign("c1", "Preinstalaciones julio", Mode.PREVIEW,
                                         Order.AGENT_FIRST, 3, {"windows": ALWAYS_OPEN}))
    await store.add_leads("c1", [NewLead(preinstallation, phone, zone=zone)], now)
    [claim] = await store.claim("c1", worker="w1", now=now, lease=timedelta(minutes=5),
                                open_zones=await store.open_zones("c1", now), agent=agent)
    return claim
