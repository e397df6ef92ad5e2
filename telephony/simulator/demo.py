"""Demo mode: keep placing a mix of calls at real-time speed so pops come and go.

Some IVR calls reach no agent (after hours, a caller who leaves the queue asking to be called
back, one who hangs up in the menu or gives up waiting): the callbacks come back as calls to
free agents. Like a queue with `ringinuse=no`, a demo call only rings agents who are not on a call; while
every agent is busy the demo waits. Answered calls last the simulator's `default_hold`, long
enough to follow the guided script.
"""
from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence

from telephony.simulator.server import PbxSimulator

log = logging.getLogger(__name__)

# IVR calls that reach no agent: after hours and a caller who leaves the queue, both asking to
# be called back (the queue callbacks later ring a free agent for them), a caller who hangs up
# in the menu and one who gives up waiting; each leaves a call record «sin asesor» for QA.
IVR_ONLY = ("ivr_after_hours", "ivr_callback", "ivr_hangup", "ivr_abandon")
IVR_ONLY_SHARE = 0.15
NAMES = ("Juan Pérez", "María López", "José Hernández", "Guadalupe García", "Luis Martínez")


def next_call(rand: random.Random, free_agents: Sequence[str], numbers: Sequence[str]
              ) -> tuple[str, dict[str, object]] | None:
    """A random call to the agents who are free now: (scenario, start_call parameters), or None
    when nobody is free."""
    if not free_agents:
        return None
    customer = rand.choice(numbers)
    if rand.random() < IVR_ONLY_SHARE:  # rings nobody (mostly a callback request)
        return rand.choice(IVR_ONLY), {"customer": customer, "name": rand.choice(NAMES),
                                       "agents": [], "speed": 1.0}
    kind = rand.choice(("inbound_queue", "inbound_ivr", "inbound_direct", "agent_outbound"))
    if kind == "inbound_ivr" and len(free_agents) < 2:
        kind = "inbound_queue"  # the recorded IVR call's queue rings two members
    if kind == "inbound_ivr":
        members = list(free_agents)
        rand.shuffle(members)
        return kind, {"customer": customer, "name": rand.choice(NAMES), "agents": members[:2],
                      "speed": 1.0}
    if kind == "inbound_queue":
        members = list(free_agents)
        rand.shuffle(members)
        strategy = "ringall" if len(members) > 1 else "linear"
        return kind, {"customer": customer, "name": rand.choice(NAMES), "agents": members,
                      "strategy": strategy, "queue": "ventas", "speed": 1.0}
    return kind, {"customer": customer, "agents": [rand.choice(list(free_agents))], "speed": 1.0}


async def run_demo(sim: PbxSimulator, agents: Sequence[str], numbers: Sequence[str],
                   interval: float, *, rand: random.Random | None = None) -> None:
    """Runs until cancelled."""
    rand = rand or random.Random()
    while True:
        busy = sim.busy_endpoints()
        choice = next_call(rand, [agent for agent in agents if agent not in busy], numbers)
        if choice is None:
            log.info("demo: every agent is on a call; no new call this round")
        else:
            scenario, params = choice
            try:
                call = await sim.start_call(scenario, **params)  # type: ignore[arg-type]
                log.info("demo call %s: %s from %s to %s", call.call_id, scenario,
                         params["customer"], ",".join(call.info["agents"]))
            except ValueError as exc:
                log.warning("demo call not placed: %s", exc)
        await asyncio.sleep(interval * rand.uniform(0.5, 1.5))
