"""Calls placed on the simulated PBX leave their records in PostgreSQL, written by telephony
(channels, agents, times, hang-up) and screenpop (the preinstallation, the agent's choice)."""
from __future__ import annotations

import asyncpg
import pytest

from common.records.facts import RESYNC_GAP
from common.records.writer import RecordWriter
from tests.records.conftest import AGENTS


async def signed_in(agents, stack, username):
    agent = agents(stack.node, username)
    assert (await agent.sign_in()).status == 302
    return agent, await agent.socket()


def named(count: int):
    """Until screenpop has named `count` of the call's agents and written the pop's match (its
    writes land on their own, in batches of their own)."""
    return lambda record: record["match_status"] is not None and sum(
        a["username"] is not None for a in record["agents"]) >= count


@pytest.fixture(params=["in the service", "in its record worker"])
async def recorder_at(request, record_stack):
    """Where telephony's recorder runs: in its own loop (a writer handed to it, as in the other
    tests), or as deployed, in the record worker it starts beside it on the database."""
    if request.param == "in its record worker":
        await record_stack.restart_telephony(database_url=record_stack.database)
    return request.param


async def pops_until(socket, call_id, state):
    while (pop := await socket.pop(call_id))["state"] != state:
        pass
    return pop


async def test_a_queue_call_leaves_one_complete_record(record_stack, agents, recorder_at):
    _, ana = await signed_in(agents, record_stack, "agente1")
    call = await record_stack.simulator.start_call(
        "inbound_queue", customer="5215512345678", name="Juan Perez",
        agents=list(AGENTS.values()), queue="ventas", strategy="ringall",
        answered_by="PJSIP/6001", hold_at="answered", speed=0.0)
    answered = await pops_until(ana, call.call_id, "answered")
    live = await record_stack.record(call.call_id, complete=False)
    assert live["answered_at"] is not None and live["ended_at"] is None

    await call.release()
    await pops_until(ana, call.call_id, "ended")
    record = await record_stack.record(call.call_id, complete=True, until=named(1))

    assert record["direction"] == "inbound"
    assert record["customer_number"] == "5215512345678"
    assert record["queue"] == "ventas"
    assert record["match_status"] == "single"
    assert record["preinstallation_id"] == answered["match"]["preinstallations"][0]["id"]
    assert record["ring_at"] <= record["answered_at"] < record["ended_at"]
    assert record["talk_seconds"] >= 0 and record["wait_seconds"] >= 0
    assert record["hangup_by"] == "customer" and record["hangup_cause"] == 16
    assert record["recording_file"].endswith(f"/{call.call_id}.wav")
    assert record["gaps"] == []
    assert call.call_id in [c["uniqueid"] for c in record["channels"]]
    assert any(c["channel"].startswith("PJSIP/6001-") for c in record["channels"])
    by_endpoint = {a["endpoint"]: a for a in record["agents"]}
    ana_leg = by_endpoint["PJSIP/6001"]
    assert ana_leg["username"] == "agente1"
    assert ana_leg["rang_at"] <= ana_leg["answered_at"] <= ana_leg["left_at"]
    assert by_endpoint["PJSIP/6002"]["answered_at"] is None  # rang, answered elsewhere
    assert {"started", "agent:PJSIP/6001:answered", "ended"} <= set(record["events"])


async def test_a_blind_transfer_lists_both_agents_in_order(record_stack, agents, recorder_at):
    _, ana = await signed_in(agents, record_stack, "agente1")
    _, luis = await signed_in(agents, record_stack, "agente2")
    call = await record_stack.simulator.start_call(
        "blind_transfer", customer="5587654321", agents=["PJSIP/6001", "PJSIP/6002"], speed=0.0)
    await pops_until(luis, call.call_id, "ended")
    record = await record_stack.record(call.call_id, complete=True, until=named(2))

    assert [(a["position"], a["endpoint"], a["username"]) for a in record["agents"]] == [
        (0, "PJSIP/6001", "agente1"), (1, "PJSIP/6002", "agente2")]
    first, second = record["agents"]
    assert first["answered_at"] <= first["left_at"] <= second["answered_at"]
    assert "agent:PJSIP/6001:transferred" in record["events"]
    assert record["match_status"] == "several"  # a family phone shared by three leads


async def test_an_attended_transfer_lists_both_agents_in_order(record_stack, agents,
                                                               recorder_at):
    _, luis = await signed_in(agents, record_stack, "agente2")
    call = await record_stack.simulator.start_call(
        "attended_transfer", customer="5587654321", agents=["PJSIP/6001", "PJSIP/6002"],
        speed=0.0)
    await pops_until(luis, call.call_id, "ended")
    record = await record_stack.record(call.call_id, complete=True)
    assert [a["endpoint"] for a in record["agents"]] == ["PJSIP/6001", "PJSIP/6002"]
    assert all(a["answered_at"] is not None for a in record["agents"])
    assert record["unreached"] is None
    # the agent-to-agent consultation never reached a customer: no record of its own
    assert await record_stack.telephony.records.flush(10)
    conn = await asyncpg.connect(record_stack.database, timeout=5)
    try:
        assert await conn.fetchval("SELECT array_agg(call_id) FROM call_records") == \
            [call.call_id]
    finally:
        await conn.close()


async def test_telephony_killed_mid_call_leaves_an_incomplete_record_completed_on_resync(
        record_stack, agents):
    _, ana = await signed_in(agents, record_stack, "agente1")
    call = await record_stack.simulator.start_call(
        "inbound_direct", customer="5215512345678", agents=["PJSIP/6001"], hold_at="answered",
        speed=0.0)
    await pops_until(ana, call.call_id, "answered")
    await record_stack.record(call.call_id, complete=False)

    await record_stack.telephony.stop()
    await record_stack.simulator.hangup(call.call_id)
    stopped = await record_stack.record(call.call_id)
    assert stopped["complete"] is False and stopped["ended_at"] is None

    await record_stack.restart_telephony(
        records=RecordWriter(record_stack.target.connector(), retry_base=0.05, retry_cap=0.2))
    await pops_until(ana, call.call_id, "ended")
    record = await record_stack.record(call.call_id, complete=True)
    assert record["gaps"] == [RESYNC_GAP]
    assert record["ended_at"] > record["answered_at"]
    assert record["talk_seconds"] > 0
    assert all(a["left_at"] is not None for a in record["agents"])
