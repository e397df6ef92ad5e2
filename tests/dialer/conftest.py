"""Fixtures for the dialer's executor and engine: a PBX simulator over TCP and an AMI listener
whose sink is the Originate executor."""
from __future__ import annotations

import asyncio

import pytest

from telephony.ami.listener import AmiListener
from telephony.config import TelephonyConfig
from telephony.dialer.originate import OriginateExecutor
from telephony.simulator.server import PbxSimulator

USERNAME = "screenpop"
SECRET = "dialer-secret"


@pytest.fixture
async def sim():
    simulator = PbxSimulator(username=USERNAME, secret=SECRET, login_failure_delay=0.05,
                             default_speed=0.0, default_hold=0.05, ring_in_use=False)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
def ami_events() -> str:
    """The event classes the listener asks for: the service's own, unless a test parametrizes
    `ami_events`."""
    return TelephonyConfig.ami_events


@pytest.fixture
def ami_config(sim, keys, ami_events) -> TelephonyConfig:
    return TelephonyConfig(ami_port=sim.port, ami_username=USERNAME, ami_secret=SECRET,
                           ami_events=ami_events, agent_endpoint_patterns=("PJSIP/*",),
                           redis_prefix=keys.prefix, status_port=0, agi_port=0,
                           ping_interval=0.5, ping_timeout=1.0, login_timeout=2.0)


class ExecutorSink:
    """Lets the listener exist before the executor that writes on it."""

    executor: OriginateExecutor | None = None

    def put_nowait(self, item) -> None:
        if self.executor is not None:
            self.executor.put_nowait(item)


@pytest.fixture
async def executor(ami_config):
    sink = ExecutorSink()
    listener = AmiListener(ami_config, sink, retry_base=0.05, retry_cap=0.2)
    sink.executor = OriginateExecutor(listener)
    listener.on_state = sink.executor.ami_state
    listener.start()
    for _ in range(200):
        if listener.connected:
            break
        await asyncio.sleep(0.02)
    assert listener.connected
    yield sink.executor
    await listener.stop()


ALWAYS_OPEN = {"hours": {day: "00:00-23:59:59" for day in
                         ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}, "holidays": False}
AGENTS = {"ana": "PJSIP/6001", "luis": "PJSIP/6002", "sofia": "PJSIP/6003"}


def number(n: int) -> str:
    return f"55{n:08d}"


@pytest.fixture
async def dialer_pool(database):
    from common.db.pool import create_pool

    pool = await create_pool(database, min_size=1, max_size=10)
    yield pool
    await pool.close()


@pytest.fixture
async def dialer_store(dialer_pool):
    from common.dialer.store import DialerStore

    return DialerStore(dialer_pool, default_zone="America/Mexico_City")


async def new_campaign(store, pool, campaign_id: str = "c1", *, leads: int = 0, mode=None,
                       agents=tuple(AGENTS), state: str = "running", first: int = 0,
                       order=None, **settings):
    from datetime import UTC, datetime

    from common.dialer.outcomes import Order
    from common.dialer.store import Campaign, Mode, NewLead

    await store.create_campaign(Campaign(
        campaign_id, f"Campaña {campaign_id}", mode or Mode.PROGRESSIVE,
        order or Order.AGENT_FIRST, 3,
        {"windows": ALWAYS_OPEN, **settings}, '"Campana" <5550001000>', None, tuple(agents)))
    if leads:
        await store.add_leads(campaign_id, [NewLead(f"p{first + i}", number(first + i))
                                            for i in range(leads)], datetime.now(UTC))
    await pool.execute("UPDATE dialer_campaigns SET state = $2 WHERE campaign_id = $1",
                       campaign_id, state)
    return campaign_id


async def set_agent(redis, keys, username: str, state: str = "available") -> None:
    """What screenpop does when the agent signs in or chooses a state."""
    import time

    from screenpop import agents
    from screenpop.agents import AgentStateStore

    store = AgentStateStore(redis, keys)
    endpoint = AGENTS.get(username, "PJSIP/6009")

    def change(current):
        current = agents.signed_in(current, time.time(), endpoint)
        if state == "available":
            return current if current.state == "available" else current.moved(
                "available", time.time())
        return current.moved(state, time.time(), reason="Comida" if state == "paused" else None)

    await store.update(username, change)


@pytest.fixture
async def engine(executor, dialer_store, redis, keys):
    """A dialer engine with quick timers, on the simulator; stopped after the test."""
    from telephony.dialer.engine import DialerEngine, EngineSettings

    made = []

    async def make(worker: str = "w1", **changes):
        settings = EngineSettings(worker=worker, lease_seconds=changes.pop("lease_seconds", 6.0),
                                  refresh_seconds=changes.pop("refresh_seconds", 0.3),
                                  reclaim_seconds=0.5,
                                  reclaim_retry_seconds=0.0, live_every=0.1, measure_seconds=0.5,
                                  ring_seconds=10.0,
                                  rejected_pause_seconds=changes.pop("rejected_pause_seconds",
                                                                     0.0),
                                  **{k: v for k, v in changes.items() if k != "records"})
        built = DialerEngine(store=dialer_store, redis=redis, keys=keys, executor=executor,
                             settings=settings, records=changes.get("records"))
        await built.start()
        made.append(built)
        return built

    yield make
    for built in made:
        await built.stop()


async def eventually(check, timeout: float = 30.0, every: float = 0.05):
    """Polls `check` (async) until it returns a truthy value, or fails after `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(every)
