"""A simulated IVR call runs the real FastAGI look-up, and the AMI events of its IVR channel carry
what the server set, as Asterisk's channelvars would."""
from __future__ import annotations

import asyncio
import json

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


async def ivr_call_events(agi_target, scenario="inbound_ivr", calls=None):
    sim = PbxSimulator(port=0, default_speed=0.0, agi_target=agi_target)
    await sim.start()
    ami = await AmiKeepingRepeats.connect(sim.port)
    try:
        assert (await ami.login())["Message"] == "Authentication accepted"
        call = await sim.start_call(scenario, customer="5215512345678",
                                    agents=["PJSIP/6001", "PJSIP/6002"])
        if calls is not None:
            calls.append(call)
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


async def stored_callbacks(redis, keys):
    return [(json.loads(member), score) for member, score in
            await redis.zrange(keys.callback_requests("ventas"), 0, -1, withscores=True)]


async def test_after_hours_the_caller_asks_for_a_callback_and_reaches_no_agent(ivr, redis, keys):
    calls = []
    events = await ivr_call_events(("127.0.0.1", ivr.port), "ivr_after_hours", calls)
    names = [e.get("Event") for e in events]
    assert "QueueCallerJoin" not in names and "AgentCalled" not in names
    assert not any(e.get("Channel", "").startswith(("PJSIP/", "SIP/6")) for e in events)
    hangup = [e for e in events if e.get("Event") == "Hangup"]
    assert variables_of(hangup[0])["IVR_PATH"] == "cerradoc"
    [(request, place)] = await stored_callbacks(redis, keys)
    started = int(variables_of(hangup[0])["IVR_STARTED"])
    assert place == started  # the place in line: when the caller called
    assert request["number"] == "+525512345678" and request["queue"] == "ventas"
    assert request["call_id"] == calls[0].call_id and request["preinstallation_id"] is None


async def test_a_waiting_caller_asks_for_a_callback_keeping_their_place(ivr, index, redis, keys):
    await index.replace_all([preinstallation("1001", "Juan Pérez", CALLER)], "test")
    calls = []
    events = await ivr_call_events(("127.0.0.1", ivr.port), "ivr_callback", calls)
    names = [e.get("Event") for e in events]
    assert names.index("QueueCallerJoin") < names.index("QueueCallerLeave") < names.index("Hangup")
    assert "AgentCalled" not in names
    leave = next(e for e in events if e.get("Event") == "QueueCallerLeave")
    assert variables_of(leave)["IVR_PATH"] == "1c"
    [(request, place)] = await stored_callbacks(redis, keys)
    assert place == int(variables_of(leave)["QUEUE_ENTERED"])
    assert request["preinstallation_id"] == "1001" and request["call_id"] == calls[0].call_id
    assert ivr.lookups == {"one": 1}


async def test_an_originate_s_variables_are_on_the_channel_it_creates():
    sim = PbxSimulator(port=0, default_speed=0.0)
    await sim.start()
    ami = await AmiKeepingRepeats.connect(sim.port)
    try:
        await ami.login()
        # outside the dialer's contexts: one of the recorded scenarios plays
        ami.send(Action="Originate", ActionID="cb-1", Channel="PJSIP/6001", Context="agents-out",
                 Exten="5512345678", Priority="1", Async="true",
                 Variable="SP_CALL=callback-ab,PREINST_ID=1001")
        events = await ami.until(lambda m: m.get("Event") == "Hangup"
                                 and m.get("Channel", "").startswith("PJSIP/6001"))
    finally:
        await ami.close()
        await sim.stop()
    agent_leg = [e for e in events if e.get("Channel", "").startswith("PJSIP/6001")]
    assert agent_leg[0]["Event"] == "Newchannel"
    assert variables_of(agent_leg[0])["SP_CALL"] == ""  # set just after, as on Asterisk
    assert variables_of(agent_leg[-1]).items() >= {
        "SP_CALL": "callback-ab", "PREINST_ID": "1001", "CAMPAIGN_ID": ""}.items()
