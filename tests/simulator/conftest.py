from __future__ import annotations

import pytest

from telephony.simulator import PbxSimulator

from .amiclient import RawAmi


@pytest.fixture
async def sim():
    simulator = PbxSimulator(username="screenpop", secret="screenpop-demo", port=0,
                             login_failure_delay=0.05, default_speed=0.0)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def client(sim):
    """A logged-in session with every event class (FullyBooted already consumed)."""
    ami = await RawAmi.connect(sim.port)
    response = await ami.login()
    assert response["Message"] == "Authentication accepted"
    assert (await ami.next())["Event"] == "FullyBooted"
    yield ami
    await ami.close()
