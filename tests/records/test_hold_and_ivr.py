"""The record's hold time (Hold/Unhold from the agent's phone) and IVR path (the channel
variables the IVR sets), from calls placed on the simulated PBX."""
from __future__ import annotations

from tests.records.test_call_records import named, pops_until, signed_in


async def test_a_call_put_on_hold_twice_records_its_hold_time_and_count(record_stack, agents):
    _, ana = await signed_in(agents, record_stack, "agente1")
    call = await record_stack.simulator.start_call(
        "inbound_hold", customer="5215512345678", agents=["PJSIP/6001"], speed=0.05)
    await pops_until(ana, call.call_id, "ended")
    record = await record_stack.record(call.call_id, complete=True, until=named(1))

    assert record["hold_count"] == 2
    assert 0 < record["hold_seconds"] < record["talk_seconds"]
    events = record["events"]
    holds = sorted(e["event_key"].split(":")[0] for e in events.values()
                   if e["kind"] in ("hold", "unhold"))
    assert holds == ["hold", "hold", "unhold", "unhold"]
    assert {e["actor"] for e in events.values() if e["kind"] == "hold"} == {"PJSIP/6001"}
    first_hold = min(e["at"] for e in events.values() if e["kind"] == "hold")
    assert record["answered_at"] <= first_hold <= record["ended_at"]
    assert record["hangup_by"] == "customer"


async def test_a_call_without_hold_records_none(record_stack, agents):
    _, ana = await signed_in(agents, record_stack, "agente1")
    call = await record_stack.simulator.start_call(
        "inbound_queue", customer="5215512345678", agents=["PJSIP/6001"], strategy="linear",
        speed=0.0)
    await pops_until(ana, call.call_id, "ended")
    record = await record_stack.record(call.call_id, complete=True)
    assert record["hold_count"] == 0 and record["hold_seconds"] == 0
    assert record["ivr_path"] == "[]" and record["ivr_started_at"] is None


async def test_an_ivr_call_records_its_menu_choice_times_and_lookup(record_stack, agents):
    record_stack.simulator.agi_target = ("127.0.0.1", record_stack.telephony.ivr.port)
    _, ana = await signed_in(agents, record_stack, "agente1")
    call = await record_stack.simulator.start_call(
        "inbound_ivr", customer="5215512345678", name="Juan Perez",
        agents=["PJSIP/6001", "PJSIP/6002"], answered_by="PJSIP/6001", hold_at="answered",
        speed=0.0)
    ringing = await pops_until(ana, call.call_id, "ringing")
    await call.release()
    await pops_until(ana, call.call_id, "ended")
    record = await record_stack.record(call.call_id, complete=True, until=named(1))

    assert record["ivr_path"] == '["1"]'
    assert record["lookup_match"] == "one"
    assert record["lookup_preinstallation_id"] == ringing["ivr"]["lookup_preinstallation_id"]
    assert record["ivr_started_at"] <= record["queue_entered_at"] <= record["answered_at"]
    assert record["ivr_seconds"] >= 0 and record["queue_wait_seconds"] >= 0
    assert record["queue"] == "ventas"
