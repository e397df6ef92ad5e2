"""A call placed on the simulated PBX reaches exactly the right agents' sockets as pops."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import AGENTS

pytestmark = pytest.mark.usefixtures("stack")


async def signed_in(agents, stack, username):
    agent = agents(stack.node, username)
    response = await agent.sign_in()
    assert response.status == 302
    return agent, await agent.socket()


async def pops_until(socket, call_id, state, reason=None):
    """Pops of one call up to the first in `state` (and `reason`), in order."""
    seen = []
    while True:
        pop = await socket.pop(call_id)
        seen.append(pop)
        if pop["state"] == state and (reason is None or pop.get("reason") == reason):
            return seen


async def test_ringall_queue_call_pops_at_both_agents_then_closes_for_the_one_who_did_not_answer(
        stack, agents):
    _, ana = await signed_in(agents, stack, "agente1")
    _, luis = await signed_in(agents, stack, "agente2")
    call = await stack.simulator.start_call(
        "inbound_queue", customer="5215512345678", name="Juan Perez", agents=list(AGENTS.values()),
        queue="ventas", strategy="ringall", answered_by="PJSIP/6001", hold_at="answered",
        speed=0.0)

    ringing = (await pops_until(ana, call.call_id, "ringing"))[-1]
    assert ringing["direction"] == "inbound"
    assert ringing["agent_endpoint"] == "PJSIP/6001"
    assert ringing["customer_number"] == "+525512345678"
    assert ringing["match"]["status"] == "one"
    record = ringing["match"]["preinstallations"][0]
    assert record["name"] == "Juan Pérez López"
    assert "dni_front" in record["missing"] and "proof_of_address" in record["missing"]

    assert (await pops_until(luis, call.call_id, "ringing"))[-1]["agent_endpoint"] == "PJSIP/6002"
    await pops_until(ana, call.call_id, "answered")
    await pops_until(luis, call.call_id, "ended", "answered_elsewhere")

    await call.release()
    await pops_until(ana, call.call_id, "ended")


async def test_a_pop_follows_a_blind_transfer_and_leaves_the_first_agent(stack, agents):
    _, ana = await signed_in(agents, stack, "agente1")
    _, luis = await signed_in(agents, stack, "agente2")
    call = await stack.simulator.start_call(
        "blind_transfer", customer="5587654321", agents=["PJSIP/6001", "PJSIP/6002"], speed=0.0)

    first = await pops_until(ana, call.call_id, "ended", "transferred")
    assert any(pop["state"] == "answered" for pop in first)
    second = await pops_until(luis, call.call_id, "answered")
    assert second[-1]["call_id"] == call.call_id
    assert second[-1]["match"]["status"] == "many"  # a family phone shared by three leads
    await pops_until(luis, call.call_id, "ended")


async def test_a_withheld_caller_gets_a_no_match_pop(stack, agents):
    _, ana = await signed_in(agents, stack, "agente1")
    call = await stack.simulator.start_call("inbound_direct", customer="anonymous",
                                            agents=["PJSIP/6001"], speed=0.0)
    ringing = (await pops_until(ana, call.call_id, "ringing"))[-1]
    assert ringing["customer_number"] is None
    assert ringing["match"] == {"status": "none", "preinstallations": []}


async def test_a_call_the_agent_places_pops_as_outbound_with_the_dialled_customer(stack, agents):
    _, ana = await signed_in(agents, stack, "agente1")
    call = await stack.simulator.start_call("agent_outbound", customer="3312345678",
                                            agents=["PJSIP/6001"], speed=0.0)
    pops = await pops_until(ana, call.call_id, "answered")
    assert pops[-1]["direction"] == "outbound"
    assert pops[-1]["customer_number"] == "+523312345678"
    assert pops[-1]["match"]["preinstallations"][0]["name"] == "Luis Fernando García Sánchez"


async def test_a_call_already_up_when_the_agent_opens_the_page_is_popped_on_connect(stack, agents):
    call = await stack.simulator.start_call(
        "inbound_direct", customer="5512345678", agents=["PJSIP/6001"], hold_at="answered",
        speed=0.0)
    await call.wait_held()
    agent = agents(stack.node, "agente1")
    assert (await agent.sign_in()).status == 302
    # the live pop may be replayed on connect or arrive just after it, depending on timing
    socket = await agent.socket()
    replayed = [pop for pop in socket.replayed if pop.get("call_id") == call.call_id]
    if not replayed or replayed[-1]["state"] != "answered":
        await pops_until(socket, call.call_id, "answered")
    await call.release()
    await pops_until(socket, call.call_id, "ended")
