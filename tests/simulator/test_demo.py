"""A realistic demo: queues with `ringinuse=no` never ring an agent on a call, and answered calls
stay up long enough to follow the guided script."""
from __future__ import annotations

import asyncio
import random

import pytest

from telephony.simulator.catalogue import ScenarioError
from telephony.simulator.control import create_control_app
from telephony.simulator.demo import IVR_ONLY, next_call, run_demo
from telephony.simulator.server import PbxSimulator

from .amiclient import RawAmi

AGENTS = ["PJSIP/6001", "PJSIP/6002"]
NUMBERS = ["5512345678", "anonymous"]


@pytest.fixture
async def floor():
    """A simulator as `serve` runs it: ringinuse=no, answered calls held for a long time."""
    simulator = PbxSimulator(port=0, default_speed=0.0, default_hold=600.0, ring_in_use=False)
    await simulator.start()
    yield simulator
    await simulator.stop()


async def test_a_queue_call_skips_the_member_who_is_on_a_call(floor):
    ami = await RawAmi.connect(floor.port)
    await ami.login(events="call")
    first = await floor.start_call("inbound_queue", customer="5512345678", agents=AGENTS,
                                   strategy="ringall", answered_by="PJSIP/6001")
    await first.wait_held()
    assert first.state == "held"  # the default hold, not the recording's few seconds
    assert floor.busy_endpoints() & set(AGENTS) == {"PJSIP/6001"}

    second = await floor.start_call("inbound_queue", customer="5533334444", agents=AGENTS,
                                    strategy="ringall")
    await second.wait_held()
    assert second.info["agents"][0] == "PJSIP/6002"
    ami.send(Action="CoreShowChannels", ActionID="csc")
    listed = await ami.until(lambda m: m.get("Event") == "CoreShowChannelsComplete")
    agent_channels = [m["Channel"] for m in listed if m.get("Event") == "CoreShowChannel"
                      and m["Channel"].startswith("PJSIP/")]
    assert sorted(name.rsplit("-", 1)[0] for name in agent_channels) == AGENTS

    with pytest.raises(ScenarioError, match="todos los asesores de la cola están en una llamada"):
        await floor.start_call("inbound_queue", customer="5544445555", agents=AGENTS)
    await ami.close()


async def test_the_control_endpoint_says_why_no_member_can_take_a_call(floor, aiohttp_client):
    http = await aiohttp_client(create_control_app(floor, default_agents=["PJSIP/6001"]))
    busy = await http.post("/calls", json={"scenario": "inbound_direct", "customer": "5598765432"})
    assert busy.status == 202
    await floor.call((await busy.json())["call_id"]).wait_held()
    refused = await http.post("/say", json={"text": "llamada entrante de 5512345678 a la cola ventas"})
    assert refused.status == 400
    assert "todos los asesores de la cola están en una llamada" in (await refused.json())["error"]


async def test_a_queue_call_to_the_only_free_member_rings_that_member(floor):
    call = await floor.start_call("inbound_queue", customer="5512345678", agents=["PJSIP/6002"],
                                  strategy="linear")
    await call.wait_held()
    assert call.info["agents"][0] == "PJSIP/6002"
    assert "PJSIP/6002" in floor.busy_endpoints()


async def test_an_order_with_its_own_hold_overrides_the_default(floor):
    call = await floor.start_call("inbound_direct", customer="5598765432",
                                  agents=["PJSIP/6001"], hold_for=0.05)
    await call.wait_done(timeout=10)
    assert call.state == "done"


def test_the_demo_only_calls_free_agents_and_waits_when_none_is():
    rand = random.Random(1)
    picks = [next_call(rand, ["PJSIP/6002"], NUMBERS) for _ in range(200)]
    assert all(params["agents"] == ([] if scenario in IVR_ONLY else ["PJSIP/6002"])
               for scenario, params in picks)
    assert {scenario for scenario, _ in picks} == {"inbound_queue", "inbound_direct",
                                                   "agent_outbound", *IVR_ONLY}
    assert next_call(rand, [], NUMBERS) is None


async def test_the_demo_places_ivr_calls_to_both_free_agents(floor):
    rand = random.Random(1)
    picks = [next_call(rand, AGENTS, NUMBERS) for _ in range(50)]
    ivr_calls = [params for scenario, params in picks if scenario == "inbound_ivr"]
    assert ivr_calls and all(sorted(params["agents"]) == AGENTS for params in ivr_calls)
    call = await floor.start_call("inbound_ivr", **{**ivr_calls[0], "speed": 0.0})
    await call.wait_held()
    assert call.info["variant"] == "inbound_ivr" and call.state == "held"


async def test_the_running_demo_never_rings_an_agent_who_is_on_a_call(floor):
    on_a_call = await floor.start_call("inbound_direct", customer="5598765432",
                                       agents=["PJSIP/6001"])
    await on_a_call.wait_held()
    demo = asyncio.create_task(run_demo(floor, AGENTS, NUMBERS, 0.02, rand=random.Random(5)))
    try:
        await asyncio.sleep(1.0)  # an observation window: dozens of demo rounds
    finally:
        demo.cancel()
        await asyncio.gather(demo, return_exceptions=True)
    placed = [c for c in floor.live_calls() if c is not on_a_call and c.info["agents"]]
    # every round after the first found both agents on a call and placed nothing
    assert len(placed) == 1
    assert "PJSIP/6001" not in placed[0].info["agents"][:1]
    assert placed[0].info["agents"][0] == "PJSIP/6002"


async def test_the_demo_s_ivr_only_calls_play_to_the_end_without_an_agent(floor):
    for scenario in IVR_ONLY:
        call = await floor.start_call(scenario, customer="5512345678", agents=[], speed=0.0)
        await call.wait_done(timeout=10)
        assert call.state == "done" and call.info["agents"] == []
