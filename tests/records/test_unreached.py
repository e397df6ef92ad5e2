"""Calls no agent ever rang leave a record too: the caller who hangs up in the menu, the one who
gives up in the queue, the one who asks to be called back, the one who calls after hours (a
transfer consultation, which never reached a customer, leaves none: test_call_records)."""
from __future__ import annotations

CALLER = "5215587654321"


async def unreached(stack, scenario: str, *, lookup: bool = True) -> tuple[str, dict]:
    if lookup:
        stack.simulator.agi_target = ("127.0.0.1", stack.telephony.ivr.port)
    call = await stack.simulator.start_call(scenario, customer=CALLER, name="Maria Lopez",
                                            agents=[], speed=0.0)
    return call.call_id, await stack.record(call.call_id, complete=True)


def assert_inbound_without_agent(record: dict) -> None:
    assert record["direction"] == "inbound"
    assert record["customer_number"] == CALLER
    assert record["agents"] == [] and record["answered_at"] is None
    assert record["ring_at"] <= record["ended_at"]
    assert record["ivr_started_at"] is not None and record["ivr_seconds"] >= 0
    assert record["gaps"] == []
    assert {"started", "ended"} <= set(record["events"])
    assert record["events"]["ended"]["detail"]  # the reason is on the timeline too


async def test_a_caller_who_hangs_up_in_the_menu_leaves_a_record(record_stack):
    call_id, record = await unreached(record_stack, "ivr_hangup")
    assert_inbound_without_agent(record)
    assert record["unreached"] == "ivr"
    assert record["ivr_path"] == "[]" and record["queue"] is None
    assert record["lookup_match"] in ("one", "many")  # the look-up ran before the menu
    assert record["hangup_by"] == "customer" and record["hangup_cause"] == 16
    assert record["recording_file"] is None  # nothing is recorded before the queue
    assert call_id in [c["uniqueid"] for c in record["channels"]]


async def test_a_caller_who_gives_up_in_the_queue_leaves_a_record(record_stack):
    call_id, record = await unreached(record_stack, "ivr_abandon")
    assert_inbound_without_agent(record)
    assert record["unreached"] == "queue"
    assert record["queue"] == "ventas" and record["ivr_path"] == '["1"]'
    assert record["ivr_started_at"] <= record["queue_entered_at"] <= record["ended_at"]
    assert record["queue_wait_seconds"] >= 0
    assert record["hangup_by"] == "customer"
    assert record["recording_file"].endswith(f"/{call_id}.wav")


async def test_a_caller_who_leaves_the_queue_for_a_callback_is_recorded_as_such(record_stack):
    _, record = await unreached(record_stack, "ivr_callback")
    assert_inbound_without_agent(record)
    assert record["unreached"] == "callback"
    assert record["queue"] == "ventas" and record["ivr_path"] == '["1", "c"]'


async def test_after_hours_calls_are_recorded_with_or_without_a_callback(record_stack):
    _, asked = await unreached(record_stack, "ivr_after_hours")
    assert_inbound_without_agent(asked)
    assert asked["unreached"] == "callback" and asked["ivr_path"] == '["cerrado", "c"]'

    record_stack.simulator.agi_target = None  # the callback could not be stored
    _, closed = await unreached(record_stack, "ivr_after_hours", lookup=False)
    assert closed["unreached"] == "after_hours"
    assert closed["queue"] is None and closed["recording_file"] is None

