"""Web nodes on real ports over the test's Redis, signed-in HTTP clients, call envelopes."""
from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from aiohttp import web
from argon2 import PasswordHasher

from common.callstate import queue_call_update
from common.db.pool import LazyPool
from common.envelope import CallUpdate
from common.keys import Keys
from screenpop.agents import AgentSettings
from screenpop.config import ScreenpopConfig
from screenpop.index import PreinstallationIndex
from screenpop.operations.settings import ActionSettings
from screenpop.users import UserStore
from screenpop.web.app import create_app
from screenpop.web.state import BUS
from screenpop.wisphub.models import Preinstallation

TIMEOUT = 10.0
POP_FLOW_SKIPS = frozenset({"ping", "agent_state", "agents", "acked", "script"})
PASSWORD = "secreto-123"
# Cheap hashes keep sign-in fast in tests; verification reads the cost from the hash itself.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def record(rid: str, name: str, phones: Iterable[str], **extra) -> Preinstallation:
    phones = tuple(phones)
    return Preinstallation(
        id=rid, username=f"cliente{rid}@isp-demo", name=name, phones=phones,
        phone_raw=", ".join(phones), email=extra.get("email"), address=extra.get("address"),
        zone=extra.get("zone"), created_at=extra.get("created_at",
                                                     datetime.now(UTC) - timedelta(days=3)),
        missing=tuple(extra.get("missing", ("dni_front", "proof_of_address"))),
        activation_path=f"/preinstalacion/activar/cliente{rid}@isp-demo/{rid}/")


def call(call_id: str, agents: dict[str, str], *, number: str | None = "5512345678",
         state: str | None = None, seq: int = 1, direction: str = "inbound",
         queue: str | None = "ventas") -> CallUpdate:
    if state is None:
        legs = set(agents.values())
        state = "answered" if "answered" in legs else "ringing" if "ringing" in legs else "ended"
    return CallUpdate(call_id=call_id, direction=direction, state=state, customer_number=number,
                      agents=agents, queue=queue, started_at=time.time() - 4,
                      event_at=time.time(), seq=seq)


class Telephony:
    """Does to Redis what the telephony service does for each call update."""

    def __init__(self, redis, keys: Keys) -> None:
        self.redis, self.keys = redis, keys

    async def publish(self, update: CallUpdate) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            queue_call_update(pipe, self.keys, update)
            await pipe.execute()


class Node:
    """One screenpop web app listening on a real port."""

    def __init__(self, config: ScreenpopConfig, redis, index, port: int = 0,
                 agent_settings: AgentSettings | None = None, provider=None,
                 gateway=None, action_settings: ActionSettings | None = None,
                 users: UserStore | None = None) -> None:
        self.config, self.redis, self.index, self.port = config, redis, index, port
        self.users = users  # else the node opens its own store on config.database_url
        self.agent_settings, self.provider, self.gateway = agent_settings, provider, gateway
        self.action_settings = action_settings
        self.app: web.Application | None = None
        self.runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> Node:
        self.app = create_app(self.config, redis=self.redis, index=self.index,
                              gateway=self.gateway, agent_settings=self.agent_settings,
                              provider=self.provider, action_settings=self.action_settings,
                              users=self.users)
        self.runner = web.AppRunner(self.app, shutdown_timeout=2.0)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = self.runner.addresses[0][1]
        await asyncio.wait_for(self.app[BUS].ready.wait(), TIMEOUT)
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None


class Agent:
    """A signed-in browser: cookie jar, CSRF token, sockets."""

    def __init__(self, node: Node, username: str) -> None:
        self.node, self.username = node, username
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def sign_in(self, password: str = PASSWORD) -> aiohttp.ClientResponse:
        token = await login_token(self.http, self.node.url)
        response = await self.http.post(f"{self.node.url}/login", allow_redirects=False, data={
            "username": self.username, "password": password, "csrf_token": token})
        if response.status == 302:
            page = await self.http.get(f"{self.node.url}/")
            self.csrf = re.search(r'name="csrf-token" content="([^"]+)"', await page.text()).group(1)
        return response

    async def socket(self, node: Node | None = None) -> Socket:
        node = node or self.node
        ws = await self.http.ws_connect(f"{node.url}/ws", origin=node.url, timeout=aiohttp.ClientWSTimeout(ws_close=2.0))
        sock = Socket(ws)
        sock.hello = await sock.expect("hello")
        while True:
            message = await sock.next()
            if message["type"] == "synced":
                sock.synced = message
                return sock
            sock.replayed.append(message)

    async def link(self, call_id: str, preinstallation_id: str) -> aiohttp.ClientResponse:
        return await self.http.post(f"{self.node.url}/api/calls/{call_id}/link",
                                    json={"preinstallation_id": preinstallation_id},
                                    headers={"X-CSRF-Token": self.csrf})

    async def close(self) -> None:
        await self.http.close()


class Socket:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.hello: dict = {}
        self.synced: dict = {}
        self.replayed: list[dict] = []

    async def next(self, skip: frozenset[str] = POP_FLOW_SKIPS) -> dict:
        """The next message whose type is not in `skip` (by default: pings, and the agent-state
        and ack relays that interleave with pops)."""
        while True:
            message = await asyncio.wait_for(self.ws.receive(), TIMEOUT)
            assert message.type == aiohttp.WSMsgType.TEXT, message
            data = json.loads(message.data)
            if data["type"] not in skip:
                return data

    async def expect(self, kind: str) -> dict:
        message = await self.next()
        assert message["type"] == kind, message
        return message

    async def next_of(self, kind: str) -> dict:
        """The next message of one type, skipping every other type."""
        while True:
            message = await self.next(frozenset())
            if message["type"] == kind:
                return message

    async def send_ack(self, call_id: str, seq: int, seen: bool = False) -> None:
        await self.ws.send_json({"type": "ack", "call_id": call_id, "seq": seq, "seen": seen})

    async def pop(self, call_id: str | None = None) -> dict:
        message = await self.expect("pop")
        if call_id is not None:
            assert message["call_id"] == call_id, message
        return message


async def login_token(http: aiohttp.ClientSession, base: str) -> str:
    page = await http.get(f"{base}/login")
    return re.search(r'name="csrf_token" value="([^"]+)"', await page.text()).group(1)


@pytest.fixture
def config(redis_url: str, keys: Keys, database: str) -> ScreenpopConfig:
    return ScreenpopConfig(redis_url=redis_url, redis_prefix=keys.prefix, database_url=database,
                           secret_key="test-secret-key-0123456789", port=0)


@pytest.fixture
def index(redis, keys: Keys) -> PreinstallationIndex:
    return PreinstallationIndex(redis, keys)


@pytest.fixture
async def users(redis, keys: Keys, database: str):
    """The accounts in the test's database (the nodes' `config` names the same one)."""
    pool = LazyPool(database, max_size=2)
    yield UserStore(pool, redis, keys, FAST_HASHER)
    await pool.close()


@pytest.fixture
def telephony(redis, keys: Keys) -> Telephony:
    return Telephony(redis, keys)


@pytest.fixture
async def nodes(config, redis, index):
    started: list[Node] = []

    async def start(port: int = 0, agent_settings: AgentSettings | None = None) -> Node:
        node = await Node(config, redis, index, port, agent_settings).start()
        started.append(node)
        return node

    yield start
    for node in started:
        await node.stop()


@pytest.fixture
async def agents():
    made: list[Agent] = []

    def make(node: Node, username: str) -> Agent:
        agent = Agent(node, username)
        made.append(agent)
        return agent

    yield make
    for agent in made:
        await agent.close()
