"""What one batch of the record writer leaves in PostgreSQL when its facts supersede each other
(Fact.latest): the last of each is what counts, agents keep the order they reached the call,
and facts about a call whose row the writer wrote in an earlier batch still land."""
from __future__ import annotations

import contextlib
import time

import asyncpg

from common.db.pool import create_pool
from common.records.facts import agent_fact, agent_name_fact, call_fact, event_fact, match_fact
from common.records.writer import RecordWriter, coalesce

AT = time.time() - 60
CALL = "1764000000.42"


def the_call(call_id: str = CALL, **changes):
    values = dict(direction="inbound", customer_number="5215512345678", campaign_id=None,
                  preinstallation_id=None, queue="ventas", ring_at=AT, answered_at=None,
                  ended_at=None, hangup_by=None, hangup_cause=None,
                  recording_file=f"2026/12/01/{call_id}.wav", complete=False, latest=call_id)
    return call_fact(call_id, **{**values, **changes})


def leg(endpoint: str, **times):
    return agent_fact(CALL, endpoint, latest=f"{CALL} {endpoint}", **times)


def test_coalesce_keeps_the_last_of_each_in_the_place_of_the_first():
    ringing, answered = leg("PJSIP/6001", rang_at=AT), leg("PJSIP/6001", rang_at=AT, answered_at=AT + 3)
    other = leg("PJSIP/6002", rang_at=AT + 1)
    started = event_fact(CALL, "started", AT, "started", "pbx1", {})
    plain = agent_fact(CALL, "PJSIP/6003", rang_at=AT)  # no `latest`: always written
    assert coalesce([started, ringing, other, plain, answered, plain]) == \
        [started, answered, other, plain, plain]


def writer_on(database: str) -> RecordWriter:
    """A writer that takes each batch at once (no linger)."""
    return RecordWriter(lambda: create_pool(database, min_size=1, max_size=2), linger=0)


@contextlib.asynccontextmanager
async def running(*writers: RecordWriter):
    """The writers started, and stopped however the block ends."""
    for writer in writers:
        writer.start()
    try:
        yield
    finally:
        for writer in writers:
            await writer.stop()


async def record(database: str) -> tuple[asyncpg.Record, list[asyncpg.Record]]:
    conn = await asyncpg.connect(database, timeout=5)
    try:
        return (await conn.fetchrow("SELECT * FROM call_records WHERE call_id = $1", CALL),
                await conn.fetch("SELECT * FROM call_agents WHERE call_id = $1 ORDER BY position",
                                 CALL))
    finally:
        await conn.close()


async def test_a_batch_of_superseding_facts_leaves_the_last_state_and_the_agents_in_order(database):
    writer = writer_on(database)
    for fact in (the_call(), leg("PJSIP/6001", rang_at=AT), leg("PJSIP/6002", rang_at=AT + 1),
                 the_call(answered_at=AT + 5),
                 leg("PJSIP/6002", rang_at=AT + 1, answered_at=AT + 5),
                 leg("PJSIP/6001", rang_at=AT, left_at=AT + 5),
                 the_call(answered_at=AT + 5, ended_at=AT + 65, hangup_by="customer",
                          hangup_cause=16, complete=True)):
        writer.submit(fact)
    async with running(writer):
        assert await writer.flush(10)
        row, agents = await record(database)
        assert row["complete"] and row["hangup_by"] == "customer" and row["hangup_cause"] == 16
        assert float(row["wait_seconds"]) == 5.0 and float(row["talk_seconds"]) == 60.0
        assert [(a["position"], a["endpoint"]) for a in agents] == \
            [(0, "PJSIP/6001"), (1, "PJSIP/6002")]  # 6001 rang first
        assert agents[0]["answered_at"] is None and agents[0]["left_at"] is not None
        assert agents[1]["answered_at"] is not None

        # the row is this writer's from the first batch: a later fact needs no stub to land
        writer.submit(match_fact(CALL, "P-77", "single"))
        assert await writer.flush(10)
        row, _ = await record(database)
        assert row["preinstallation_id"] == "P-77" and row["match_status"] == "single"


async def test_a_fact_about_a_call_another_writer_started_gets_its_row(database):
    writer = writer_on(database)
    async with running(writer):
        writer.submit(match_fact(CALL, "P-78", "linked"))  # screenpop's, before telephony's
        assert await writer.flush(10)
        row, _ = await record(database)
        assert row["direction"] == "unknown" and row["preinstallation_id"] == "P-78"


async def test_two_writers_on_the_same_new_calls_at_once_never_deadlock(database):
    """Telephony's batch carries the call facts of some calls and only agent facts of others;
    screenpop's names the agents of all of them: each takes its locks in its own statements'
    order, and both must land whole."""
    calls = [f"1764000100.{i:03d}" for i in range(300)]
    telephony, screenpop = writer_on(database), writer_on(database)
    for i, call_id in enumerate(calls):
        if i % 2 == 0:
            telephony.submit(the_call(call_id))
        telephony.submit(agent_fact(call_id, "PJSIP/6001", rang_at=AT))
    for call_id in reversed(calls):
        screenpop.submit(match_fact(call_id, None, "none"))
        screenpop.submit(agent_name_fact(call_id, "PJSIP/6001", "agente1"))
    async with running(telephony, screenpop):
        assert await telephony.flush(30) and await screenpop.flush(30)
        assert telephony.write_failures == screenpop.write_failures == 0
        conn = await asyncpg.connect(database, timeout=5)
        try:
            named = await conn.fetchval(
                "SELECT count(*) FROM call_records WHERE match_status = 'none' "
                "AND agent_username = 'agente1'")
        finally:
            await conn.close()
        assert named == len(calls)


async def test_a_leg_nobody_was_signed_in_at_is_its_endpoints_only_account(database):
    conn = await asyncpg.connect(database, timeout=5)
    try:
        hash_ = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$abc"
        for username, endpoints in (("ana", ["PJSIP/6001"]), ("beto", ["PJSIP/6002"]),
                                    ("carla", ["PJSIP/6002"])):
            await conn.execute("INSERT INTO accounts (username, display_name, password_hash, role)"
                               " VALUES ($1, $1, $2, 'agent')", username, hash_)
            for position, endpoint in enumerate(endpoints):
                await conn.execute("INSERT INTO account_endpoints VALUES ($1, $2, $3)",
                                   username, endpoint, position)
    finally:
        await conn.close()
    writer = writer_on(database)
    # answered at ana's desk with her screen closed, then transferred to a shared phone
    for fact in (the_call(), leg("PJSIP/6001", rang_at=AT, answered_at=AT + 2),
                 leg("PJSIP/6002", rang_at=AT + 30, answered_at=AT + 32)):
        writer.submit(fact)
    async with running(writer):
        assert await writer.flush(10)
        row, agents = await record(database)
        assert [a["username"] for a in agents] == ["ana", None]  # 6002 is beto's and carla's
        assert row["agent_username"] == "ana"  # the QA desk scores her, she opens her call
        writer.submit(agent_name_fact(CALL, "PJSIP/6002", "carla"))  # signed in there after all
        assert await writer.flush(10)
        row, agents = await record(database)
        assert [a["username"] for a in agents] == ["ana", "carla"]
        assert row["agent_username"] == "carla"


async def test_a_recorder_that_started_mid_call_still_gives_the_talk_time(database):
    """A replaced record worker's recorder sees the call end but never saw it answered: the
    talk time comes from the answer its predecessor wrote."""
    writer = writer_on(database)
    async with running(writer):
        writer.submit(the_call(answered_at=AT + 5))  # the first worker, before it died
        assert await writer.flush(10)
        writer.submit(the_call(ring_at=AT + 30, ended_at=AT + 65, hangup_by="customer",
                               hangup_cause=16, complete=True))  # its successor
        assert await writer.flush(10)
        row, _ = await record(database)
        assert row["complete"] and float(row["talk_seconds"]) == 60.0
        assert float(row["wait_seconds"]) == 5.0
