"""What screenpop knows lands in the call's record: the preinstallation matched and the agent's
link, the guided-call steps and answers (objections too), and each WispHub action with its result
(a successful activation marks the record activated)."""
from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest

from common.records.writer import RecordWriter
from screenpop.operations.settings import ActionSettings
from tests.activation.conftest import (  # noqa: F401 (fixtures)
    ANSWERS,
    CALL_ID,
    RECORD_ID,
    config,
    gateway,
    index,
    post,
    settings_path,
)
from tests.records.conftest import WAIT, RecordingNode, Target
from tests.screenpop.conftest import Agent, Telephony, call


@pytest.fixture
async def ana(config, redis, keys, index, gateway, settings_path, database, users):  # noqa: F811
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"], "Ana")
    writer = RecordWriter(Target(database).connector(), retry_base=0.05, retry_cap=0.2)
    node = await RecordingNode(config, redis, index, gateway=gateway,
                               action_settings=ActionSettings.from_file(settings_path),
                               record_writer=writer).start()
    agent = Agent(node, "ana")
    assert (await agent.sign_in()).status == 302
    socket = await agent.socket()
    yield agent, socket
    await agent.close()
    await node.stop()


async def record_when(database: str, until) -> dict:
    conn = await asyncpg.connect(database, timeout=5)
    try:
        async with asyncio.timeout(WAIT):
            while True:
                row = await conn.fetchrow("SELECT * FROM call_records WHERE call_id = $1", CALL_ID)
                events = {r["event_key"]: dict(r) for r in await conn.fetch(
                    "SELECT * FROM call_events WHERE call_id = $1", CALL_ID)}
                record = {**dict(row), "guided": json.loads(row["guided"]),
                          "events": events} if row else None
                if record is not None and until(record):
                    return record
                await asyncio.sleep(0.05)
    finally:
        await conn.close()


async def test_match_link_guided_call_and_activation_are_recorded(ana, redis, keys, database):
    agent, socket = ana
    await Telephony(redis, keys).publish(call(CALL_ID, {"PJSIP/6001": "answered"},
                                              number="5512345678"))
    pop = await socket.pop(CALL_ID)
    assert pop["match"]["status"] == "one"
    record = await record_when(database, lambda r: r["match_status"] == "single")
    assert record["preinstallation_id"] == str(RECORD_ID)

    assert (await agent.link(CALL_ID, str(RECORD_ID))).status == 200
    record = await record_when(database, lambda r: r["match_status"] == "linked")
    assert record["events"][f"link:{RECORD_ID}"]["actor"] == "ana"

    for step, answers in (("cobertura", {"coverage": True}),
                          ("objeciones", {"objections_raised": ["precio"]}),
                          ("cobertura", {k: v for k, v in ANSWERS.items() if k != "coverage"})):
        status, body = await post(agent, f"/api/calls/{CALL_ID}/progress",
                                  json={"step": step, "answers": answers})
        assert status == 200, body
    record = await record_when(database, lambda r: r["guided"].get("answers", {}).get("plan_id"))
    guided = record["guided"]
    assert guided["steps"] == ["cobertura", "objeciones"]
    assert guided["objections"] == ["precio"]
    assert guided["answers"]["zone"] == "centro"
    assert record["events"]["step:objeciones"]["actor"] == "ana"

    status, body = await post(agent, f"/api/calls/{CALL_ID}/activate")
    assert status == 200 and body["operation"]["state"] == "done", body
    record = await record_when(database, lambda r: "activated" in r["events"])
    op = body["operation"]["op"]
    done = [e for e in record["events"].values()
            if e["kind"] == "wisphub_activation" and e["event_key"].startswith(f"op:{op}:done:")]
    assert len(done) == 1 and done[0]["actor"] == "ana"
    assert record["match_status"] == "linked"  # the agent's choice stays
    record = await record_when(database, lambda r: r["activated_at"] is not None)
