"""A real WispHub sandbox, a screenpop node with the write-back over the test's Redis, a signed-in
agent with a call answered from a preinstallation's phone, and its captured answers."""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace

import pytest

from common.keys import Keys
from screenpop.config import ScreenpopConfig
from screenpop.index import PreinstallationIndex
from screenpop.operations.settings import ActionSettings
from screenpop.script.progress import CallProgressStore
from screenpop.web.actions import ACTIONS
from screenpop.web.state import PROVIDER
from screenpop.wisphub.gateway import create_gateway
from screenpop.wisphub.http import RetryPolicy
from tests.screenpop.conftest import Agent, Node, Telephony, call, users  # noqa: F401

TIMEOUT = 10.0
FAST = RetryPolicy(attempts=2, base=0.01, cap=0.05)
SETTINGS = {"plans": {"inalambrico-20": "20 MEGAS 450", "fibra-100": "FIBRA 100 MEGAS 700"},
            "services": {"tv": "tv", "telefonia": "phone"},
            "zones": {"centro": {"router": "RB NORTE", "ap": "Sectorial Norte 1"}},
            "task_deadline": 5, "task_interval": 0.02, "outbox_interval": 0.05,
            "retry_base": 0.05, "retry_cap": 0.2, "lock_seconds": 5, "answer_wait": 5,
            # longer than the 1 s client timeout plus the sandbox's longest test stall (1.5 s)
            "unknown_wait": 2.0, "unknown_checks": 2, "max_attempts": 4, "max_checks": 4,
            "lock_retry": 0.1}
ANSWERS = {"coverage": True, "wants_to_continue": True, "technology": "wireless",
           "zone": "centro", "plan_id": "inalambrico-20", "contract": "12m",
           "addons": ["telefonia"], "first_name": "Juan", "last_name": "Pérez López",
           "dni_number": "PELJ800101HDFRPN09", "email": "juan.perez@gmail.com",
           "extra_phone": "5587654321", "referral": "Facebook", "housing": "own",
           "colonia": "Guadalupe Tepeyac", "city": "Ciudad de México",
           "location_url": "19.4833,-99.1167", "install_date": "2030-05-20",
           "install_window": "manana"}
CALL_ID = "1732431000.42"
RECORD_ID = 1001  # Juan Pérez, 5512345678, in the sandbox seed


async def wait_for(predicate, what: str, timeout: float = TIMEOUT):
    """Poll `predicate` (sync or async) until truthy; fail with `what` after the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


class Pop(Node):
    """A screenpop node with the write-back, and one agent signed in on it."""

    def __init__(self, config, redis, keys, index, gateway, settings_path) -> None:
        super().__init__(config, redis, index, gateway=gateway,
                         action_settings=ActionSettings.from_file(settings_path))
        self.keys, self.settings_path = keys, settings_path

    @property
    def actions(self):
        return self.app[ACTIONS]


@pytest.fixture
def settings_path(tmp_path):
    path = tmp_path / "actions.json"
    path.write_text(json.dumps(SETTINGS), encoding="utf-8")
    return path


@pytest.fixture
def config(sandbox, redis_url, keys: Keys, database) -> ScreenpopConfig:
    return replace(ScreenpopConfig(), redis_url=redis_url, redis_prefix=keys.prefix,
                   database_url=database,
                   secret_key="test-secret-key-0123456789", port=0,
                   wisphub_url=sandbox.url, wisphub_panel_url=sandbox.panel_url,
                   wisphub_timeout=1.0)


@pytest.fixture
async def gateway(config):
    gw = create_gateway(config, policy=FAST)
    yield gw
    await gw.aclose()


@pytest.fixture
async def index(redis, keys, gateway) -> PreinstallationIndex:
    idx = PreinstallationIndex(redis, keys)
    await idx.replace_all(await gateway.pending_preinstallations(), source="test")
    return idx


@pytest.fixture
async def pops(config, redis, keys, index, gateway, settings_path):
    started: list[Pop] = []

    async def start(port: int = 0) -> Pop:
        pop = Pop(config, redis, keys, index, gateway, settings_path)
        pop.port = port
        started.append(await pop.start())
        return pop

    yield start
    for pop in started:
        await pop.stop()


@pytest.fixture
async def agent_on_call(redis, keys, pops, users):  # noqa: F811 - pytest fixture
    """A node, agent "ana" signed in, a call from Juan Pérez answered at her phone, answers saved."""
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"], "Ana")
    pop = await pops()
    await Telephony(redis, keys).publish(call(CALL_ID, {"PJSIP/6001": "answered"},
                                              number="5512345678"))
    await CallProgressStore(redis, keys, provider=pop.app[PROVIDER]).save(
        CALL_ID, answers=ANSWERS, by="ana")
    agent = Agent(pop, "ana")
    response = await agent.sign_in()
    assert response.status == 302
    yield pop, agent
    await agent.close()


async def post(agent: Agent, path: str, **kwargs):
    response = await agent.http.post(f"{agent.node.url}{path}",
                                     headers={"X-CSRF-Token": agent.csrf}, **kwargs)
    return response.status, await response.json()
