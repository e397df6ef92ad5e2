"""The simulator's recordings (--recordings): where asterisk-config's MixMonitor puts them, named
by the call id the call records carry, for inbound, outbound, dialer and transferred calls."""
from __future__ import annotations

import time
import wave
from zoneinfo import ZoneInfo

import pytest

from telephony.records import recording_file
from telephony.simulator import PbxSimulator
from telephony.simulator.mixmonitor import RATE, MixMonitor

TZ = ZoneInfo("America/Mexico_City")


@pytest.fixture
async def recorded(tmp_path):
    monitor = MixMonitor(tmp_path, TZ)
    simulator = PbxSimulator(port=0, default_speed=0.0, monitor=monitor.feed)
    await simulator.start()
    yield simulator, monitor
    await simulator.stop()


@pytest.mark.parametrize("scenario", ["inbound_direct", "inbound_queue", "agent_outbound",
                                      "blind_transfer", "attended_transfer"])
async def test_an_answered_call_leaves_one_recording_named_by_its_call_id(recorded, tmp_path,
                                                                          scenario):
    sim, monitor = recorded
    before = time.time()
    call = await sim.start_call(scenario, customer="5512345678", hold_for=0.05,
                                agents=["PJSIP/6001", "PJSIP/6002"])
    await call.wait_done(timeout=10)
    assert monitor.written == [tmp_path / recording_file(call.call_id, before, TZ)]
    with wave.open(str(monitor.written[0])) as played:
        assert played.getframerate() == RATE and played.getnframes() >= RATE  # ≥ 1 s of sound


async def test_a_dialer_call_is_recorded_under_its_channel_id(recorded, tmp_path):
    sim, monitor = recorded
    before = time.time()
    call = await sim.start_call("dialer_customer_first", customer="5512345678",
                                channel_id="dl-5e6d248e8149431d9ed69cab0835c629", hold_for=0.05)
    await call.wait_done(timeout=10)
    assert call.call_id == "dl-5e6d248e8149431d9ed69cab0835c629"
    assert monitor.written == [tmp_path / recording_file(call.call_id, before, TZ)]


@pytest.mark.parametrize("scenario", ["dialer_noanswer", "ivr_hangup"])
async def test_a_call_never_bridged_leaves_no_recording(recorded, tmp_path, scenario):
    sim, monitor = recorded
    call = await sim.start_call(scenario, customer="5512345678")
    await call.wait_done(timeout=10)
    assert monitor.written == [] and not list(tmp_path.rglob("*.wav"))
