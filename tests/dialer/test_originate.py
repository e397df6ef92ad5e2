"""The Originate executor against the simulator over TCP: the action it writes, and the outcome
it resolves to."""
from __future__ import annotations

import asyncio
import uuid

import pytest

from common.dialer.outcomes import Order, Outcome
from telephony.dialer.originate import (
    OriginateRequest,
    OriginateSettings,
    build_originate,
)


def _request(order: Order = Order.AGENT_FIRST, **changes) -> OriginateRequest:
    attempt = uuid.uuid4()
    values = dict(attempt_id=str(attempt), channel_id=f"dl-{attempt.hex}", order=order,
                  number="+525512345678", endpoint="PJSIP/6001",
                  caller_id='"Campaña c7" <5550001000>', campaign_id="c7",
                  preinstallation_id="1001", ring_seconds=20)
    return OriginateRequest(**{**values, **changes})


def test_agent_first_action_matches_the_dialer_context() -> None:
    request = _request()
    action = build_originate(request, OriginateSettings())
    assert action == {
        "Action": "Originate", "ActionID": f"dialer-{request.attempt_id}",
        "Channel": "PJSIP/6001", "Context": "dialer", "Exten": "525512345678", "Priority": "1",
        "Async": "true", "ChannelId": request.channel_id, "Timeout": "20000",
        "CallerID": '"Campaña c7" <5550001000>',
        "Variable": f"CAMPAIGN_ID=c7,PREINST_ID=1001,SP_CALL={request.attempt_id},"
                    "SP_CID=5550001000"}


def test_customer_first_action_rings_the_trunk_into_the_queue_or_amd() -> None:
    settings = OriginateSettings(trunk="PJSIP/{number}@trunk")
    queue = build_originate(_request(Order.CUSTOMER_FIRST, endpoint=None), settings)
    assert (queue["Channel"], queue["Context"], queue["Exten"]) == (
        "PJSIP/525512345678@trunk", "dialer-connect", "ventas")
    assert queue["CallerID"] == '"Campaña c7" <5550001000>'  # the trunk leg shows it as is
    assert "SP_CID" not in queue["Variable"]
    amd = build_originate(_request(Order.CUSTOMER_FIRST, endpoint=None, amd=True), settings)
    assert amd["Exten"] == "amd"


def test_bad_requests_are_refused() -> None:
    with pytest.raises(ValueError):
        build_originate(_request(endpoint=None), OriginateSettings())
    with pytest.raises(ValueError):
        build_originate(_request(preinstallation_id="1,2"), OriginateSettings())
    with pytest.raises(ValueError):
        OriginateSettings(trunk="PJSIP/trunk")


async def test_agent_first_connected_call_resolves_with_its_call_id(executor, sim) -> None:
    request = _request()
    placed = await executor.place_call(request)
    assert placed.result.outcome is Outcome.CONNECTED
    assert placed.written and placed.call_id == request.channel_id
    assert executor.in_flight == 0


async def test_ami_down_interrupts_without_writing(executor, sim) -> None:
    await sim.stop()
    while executor.ami_connected:
        await asyncio.sleep(0.02)
    placed = await executor.place_call(_request())
    assert placed.result.outcome is Outcome.INTERRUPTED and not placed.written
    assert "AMI" in placed.result.detail


async def test_ami_lost_mid_call_interrupts_the_live_attempt(executor, sim) -> None:
    sim.default_speed = 1.0  # in real time: answered at once, then a talk longer than the test
    settings = sim.dialer.settings
    settings.ring_seconds = settings.agent_ring_seconds = 0.0
    settings.talk_seconds = 60.0
    placing = asyncio.create_task(executor.place_call(_request()))
    for _ in range(500):
        if sim.live_calls():
            break
        await asyncio.sleep(0.02)
    assert sim.live_calls()
    await asyncio.sleep(0.2)
    await sim.drop_connections()
    placed = await asyncio.wait_for(placing, 10)
    assert placed.result.outcome is Outcome.INTERRUPTED and placed.written
    assert placed.call_id is not None and "AMI" in placed.result.detail
