"""A database outage never delays or drops a pop: record writes queue, catch up, and a record
that lost writes says so. Replaying a call's facts leaves the same rows."""
from __future__ import annotations

import asyncio

import asyncpg

from common.records.facts import DROPPED_GAP
from common.records.writer import RecordWriter
from tests.records.conftest import CapturingWriter, Target, closed_port
from tests.records.test_call_records import pops_until, signed_in


def unreachable() -> Target:
    return Target(f"postgresql://127.0.0.1:{closed_port()}/nowhere")


async def test_pops_arrive_while_the_database_is_down_and_records_catch_up(record_stack, agents):
    target = unreachable()
    await record_stack.restart_telephony(
        records=RecordWriter(target.connector(), retry_base=0.05, retry_cap=0.2))
    _, ana = await signed_in(agents, record_stack, "agente1")
    call = await record_stack.simulator.start_call(
        "inbound_direct", customer="5215512345678", agents=["PJSIP/6001"], speed=0.0)
    for state in ("ringing", "answered", "ended"):
        await pops_until(ana, call.call_id, state)
    assert await record_stack.metric("telephony_records_queued") > 0
    async with asyncio.timeout(10):  # the writer's first try, a moment after the first fact
        while await record_stack.metric("telephony_records_write_failures_total") == 0:
            await asyncio.sleep(0.05)
    assert await record_stack.metric("telephony_records_database_up") == 0

    target.url = record_stack.database
    record = await record_stack.record(call.call_id, complete=True)
    assert record["gaps"] == []
    assert record["direction"] == "inbound" and record["hangup_cause"] == 16
    assert [a["endpoint"] for a in record["agents"]] == ["PJSIP/6001"]
    assert await record_stack.metric("telephony_records_queued") == 0
    assert await record_stack.metric("telephony_records_dropped_total") == 0
    assert await record_stack.metric("telephony_records_written_total") > 0


async def test_a_record_that_lost_writes_to_a_full_queue_says_it_has_a_gap(record_stack, agents):
    target = unreachable()
    await record_stack.restart_telephony(
        records=RecordWriter(target.connector(), max_queued=3, retry_base=0.05, retry_cap=0.2))
    _, ana = await signed_in(agents, record_stack, "agente1")
    call = await record_stack.simulator.start_call(
        "inbound_direct", customer="5215512345678", agents=["PJSIP/6001"], speed=0.0)
    await pops_until(ana, call.call_id, "ended")
    assert await record_stack.metric("telephony_records_dropped_total") > 0

    target.url = record_stack.database
    record = await record_stack.record(call.call_id, until=lambda r: DROPPED_GAP in r["gaps"])
    assert "ended" in record["events"]  # the newest facts were kept, the oldest dropped


async def test_replaying_a_calls_facts_leaves_the_same_rows(record_stack, agents):
    writer = CapturingWriter(record_stack.target.connector(), retry_base=0.05, retry_cap=0.2)
    await record_stack.restart_telephony(records=writer)
    _, ana = await signed_in(agents, record_stack, "agente1")
    call = await record_stack.simulator.start_call(
        "blind_transfer", customer="5587654321", agents=["PJSIP/6001", "PJSIP/6002"], speed=0.0)
    await pops_until(ana, call.call_id, "ended")
    await record_stack.record(call.call_id, complete=True)
    assert await writer.flush(10) and await record_stack.node.record_writer.flush(10)
    before = await rows(record_stack.database, call.call_id)
    assert len(before["call_agents"]) == 2

    replayed = [fact for fact in writer.facts if fact.call_id == call.call_id]
    for fact in replayed + replayed:
        writer.submit(fact)
    assert await writer.flush(10)
    assert await rows(record_stack.database, call.call_id) == before


async def rows(database: str, call_id: str) -> dict[str, list[dict]]:
    conn = await asyncpg.connect(database, timeout=5)
    try:
        return {table: [{k: v for k, v in row.items() if k not in ("updated_at", "created_at")}
                        for row in await conn.fetch(
                            f"SELECT * FROM {table} WHERE call_id = $1 ORDER BY 2", call_id)]
                for table in ("call_records", "call_channels", "call_agents", "call_events")}
    finally:
        await conn.close()
