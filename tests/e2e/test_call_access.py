"""Who may act on a call, on the whole real path: a ringall queue call on the simulated PBX,
through telephony and Redis, to the screenpop routes over HTTP."""
from __future__ import annotations

import pytest

from tests.e2e.test_call_to_pop import pops_until, signed_in

pytestmark = pytest.mark.usefixtures("stack")


async def act(agent, call_id: str, route: str) -> tuple[int, dict]:
    response = await agent.http.post(f"{agent.node.url}/api/calls/{call_id}/{route}",
                                     json={"step": "cobertura"},
                                     headers={"X-CSRF-Token": agent.csrf})
    return response.status, await response.json()


async def test_the_agent_whose_phone_only_rang_cannot_act_live_or_after_the_end(stack, agents):
    holder, holder_ws = await signed_in(agents, stack, "agente1")
    rang, rang_ws = await signed_in(agents, stack, "agente2")
    call = await stack.simulator.start_call(
        "inbound_queue", customer="5215512345678", agents=["PJSIP/6001", "PJSIP/6002"],
        queue="ventas", strategy="ringall", answered_by="PJSIP/6001", hold_at="answered",
        speed=0.0)
    await pops_until(holder_ws, call.call_id, "answered")
    await pops_until(rang_ws, call.call_id, "ended", "answered_elsewhere")

    for route in ("activate", "data", "services", "progress"):
        assert (await act(rang, call.call_id, route))[1]["error"] == "not_your_call", route
    status, body = await act(holder, call.call_id, "progress")
    assert status == 200 and body["progress"]["step"] == "cobertura", body

    await call.release()
    while (await holder_ws.next_of("pop"))["state"] != "ended":
        pass
    for route in ("activate", "data", "services", "progress"):
        assert (await act(rang, call.call_id, route))[1]["error"] == "not_your_call", route
    assert (await act(holder, call.call_id, "progress"))[0] == 200  # wrap-up of their own call
