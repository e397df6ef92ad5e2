"""Demo mode: keep placing a mix of calls at real-time speed so pops come and go."""
from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence

from telephony.simulator.server import PbxSimulator

log = logging.getLogger(__name__)

NAMES = ("Juan Pérez", "María López", "José Hernández", "Guadalupe García", "Luis Martínez")


def next_call(rand: random.Random, agents: Sequence[str], numbers: Sequence[str]
              ) -> tuple[str, dict[str, object]]:
    """A random call: (scenario, start_call parameters)."""
    customer = rand.choice(numbers)
    hold = {"hold_at": "answered", "hold_for": rand.uniform(10.0, 25.0), "speed": 1.0}
    kind = rand.choice(("inbound_queue", "inbound_queue", "inbound_direct", "agent_outbound"))
    if kind == "inbound_queue":
        members = list(agents)
        rand.shuffle(members)
        strategy = "ringall" if len(members) > 1 else "linear"
        return kind, {"customer": customer, "name": rand.choice(NAMES), "agents": members,
                      "strategy": strategy, "queue": "ventas", **hold}
    return kind, {"customer": customer, "agents": [rand.choice(agents)], **hold}


async def run_demo(sim: PbxSimulator, agents: Sequence[str], numbers: Sequence[str],
                   interval: float, *, rand: random.Random | None = None) -> None:
    """Runs until cancelled."""
    rand = rand or random.Random()
    while True:
        scenario, params = next_call(rand, agents, numbers)
        try:
            call = await sim.start_call(scenario, **params)  # type: ignore[arg-type]
            log.info("demo call %s: %s from %s", call.call_id, scenario, params["customer"])
        except ValueError as exc:
            log.warning("demo call not placed: %s", exc)
        await asyncio.sleep(interval * rand.uniform(0.5, 1.5))
