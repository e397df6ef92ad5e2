"""A simulated IVR call runs the real FastAGI look-up, and the AMI events of its IVR channel carry
what the server set, as Asterisk's channelvars would."""
from __future__ import annotations

import asyncio

from telephony.ami.frames import join_repeated, parse_block, values_of
from telephony.simulator import PbxSimulator
from telephony.simulator.ivr import CHANNEL_VARIABLES
from tests.asterisk.conf import section
from tests.simulator.amiclient import TIMEOUT, RawAmi

from .conftest import CALLER, preinstallation


class AmiKeepingRepeats(RawAmi):
    """Every ChanVariable header of a message, not only the first."""

    async def next(self) -> dict[str, str]:
        while not self._pending:
            data = await asyncio.wait_for(self.reader.read(65536), TIMEOUT)
            if not data:
                raise EOFError
            self._pending.extend(join_repeated(*parse_block(b)) for b in self._frames.feed(data))
        return self._pending.pop(0)


async def ivr_call_events(agi_target):
    sim = PbxSimulator(port=0, default_speed=0.0, agi_target=agi_target)
    await sim.start()
    ami = await AmiKeepingRepeats.connect(sim.port)
    try:
        assert (await ami.login())["Message"] == "Authentication accepted"
        call = await sim.start_call("inbound_ivr", customer="5215512345678",
                                    agents=["PJSIP/6001", "PJSIP/6002"])
        await call.wait_done()
        ami.send(Action="Ping", ActionID="end-of-call")
        return await ami.until(lambda m: m.get("ActionID") == "end-of-call")
    finally:
        await ami.close()
        await sim.stop()


def variables_of(event) -> dict[str, str]:
    return dict(item.split("=", 1) for item in values_of(event, "ChanVariable"))


async def test_the_queued_ivr_channel_carries_the_lookup_and_the_menu_path(ivr, index):
    await index.replace_all([preinstallation("1001", "Juan Pérez", CALLER)], "test")
    events = await ivr_call_events(("127.0.0.1", ivr.port))
    join = next(e for e in events if e.get("Event") == "QueueCallerJoin")
    variables = variables_of(join)
    assert variables["SP_MATCH"] == "one" and variables["SP_PREINST_ID"] == "1001"
    assert variables["IVR_PATH"] == "1"
    assert int(variables["IVR_STARTED"]) <= int(variables["QUEUE_ENTERED"])
    assert ivr.lookups == {"one": 1}


async def test_without_a_fastagi_server_the_dialplan_defaults_stay():
    events = await ivr_call_events(None)
    join = next(e for e in events if e.get("Event") == "QueueCallerJoin")
    assert variables_of(join)["SP_MATCH"] == "unknown"
    assert variables_of(join)["SP_PREINST_ID"] == ""


def test_the_simulator_adds_exactly_the_variables_manager_conf_lists():
    channelvars = section("manager.conf", "general").get("channelvars").split(",")
    assert tuple(channelvars) == CHANNEL_VARIABLES
    for name in ("IVR_PATH", "IVR_STARTED", "QUEUE_ENTERED", "SP_MATCH", "SP_PREINST_ID"):
        assert name in channelvars  # what the pop's `ivr` object is built from
