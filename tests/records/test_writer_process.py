"""The record writer a service runs beside it (common.records.offload): the facts reach
PostgreSQL through a worker process at idle CPU priority, a worker that dies is replaced without
losing a fact, a database that goes away delays the facts without losing them, and stopping
writes what is queued and leaves no process behind."""
from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from common.records.facts import call_fact, event_fact
from common.records.offload import RecorderSpec, WriterProcess

AT = time.time() - 60
WAIT = 20.0


def call(call_id: str):
    return call_fact(call_id, direction="inbound", customer_number="5215512345678",
                     campaign_id=None, preinstallation_id=None, queue="ventas", ring_at=AT,
                     answered_at=None, ended_at=None, hangup_by=None, hangup_cause=None,
                     recording_file=None, complete=False, latest=call_id)


def started(call_id: str):
    return event_fact(call_id, "started", AT, "started", "pbx1", {})


async def calls_written(database: str, prefix: str) -> set[str]:
    conn = await asyncpg.connect(database, timeout=5)
    try:
        rows = await conn.fetch("SELECT r.call_id FROM call_records r JOIN call_events e "
                                "USING (call_id) WHERE r.call_id LIKE $1 AND "
                                "r.direction = 'inbound'", f"{prefix}%")
        return {row["call_id"] for row in rows}
    finally:
        await conn.close()


async def until(condition, timeout: float = WAIT) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running(writer: WriterProcess):
    writer.start()
    try:
        yield writer
    finally:
        await writer.stop(flush_timeout=WAIT)


def submit_calls(writer: WriterProcess, prefix: str, count: int) -> set[str]:
    ids = {f"{prefix}{n}" for n in range(count)}
    for call_id in sorted(ids):
        writer.submit(call(call_id))
        writer.submit(started(call_id))
    return ids


def calls_recorder(submit, *, prefix: str):
    """A recorder for the worker (RecorderSpec): ("call", n) becomes call `prefix`n's record,
    ("nothing",) changes nothing."""
    def observe(observation) -> None:
        if observation[0] == "call":
            call_id = f"{prefix}{observation[1]}"
            submit(call(call_id))
            submit(started(call_id))
    return observe


CALLS_RECORDER = "tests.records.test_writer_process:calls_recorder"


class Relay:
    """A TCP relay in front of PostgreSQL that can be cut (the database goes away) and restored
    on the same port."""

    def __init__(self, database: str) -> None:
        parts = urlsplit(database)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self._parts = parts
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def url(self) -> str:
        netloc = self._parts.netloc.rsplit("@", 1)
        host = f"127.0.0.1:{self.port}"
        return urlunsplit(self._parts._replace(
            netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._open):
            writer.transport.abort()
        await self._server.wait_closed()
        self._server = None

    async def __aenter__(self) -> Relay:
        await self.open()
        return self

    async def __aexit__(self, *exc_info) -> None:
        if self._server is not None:
            await self.cut()
        await asyncio.sleep(0)  # the aborted connections' transports close on the next turn

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        self._open |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._open -= {writer, up_writer}


async def test_facts_reach_postgresql_through_a_worker_at_idle_priority(database):
    async with running(WriterProcess(database, "test")) as writer:
        ids = submit_calls(writer, "wp-a-", 30)
        assert await writer.flush(WAIT)
        assert await calls_written(database, "wp-a-") == ids
        assert writer.written >= 60 and writer.queued == 0 and writer.database_ok
        assert os.sched_getscheduler(writer.worker_pid) == os.SCHED_IDLE


@pytest.mark.parametrize("priority, niceness", [("low", 19), ("normal", os.nice(0))])
async def test_the_workers_priority_is_configured(database, priority, niceness):
    env = {**os.environ, "RECORD_WRITER_PRIORITY": priority}
    async with running(WriterProcess(database, "test", env=env)) as writer:
        submit_calls(writer, f"wp-{priority}-", 1)
        assert await writer.flush(WAIT)
        assert os.sched_getscheduler(writer.worker_pid) == os.SCHED_OTHER
        assert os.getpriority(os.PRIO_PROCESS, writer.worker_pid) == niceness


async def test_a_killed_worker_is_replaced_and_every_fact_still_lands(database):
    writer = WriterProcess(database, "test", restart_base=0.05, restart_cap=0.2)
    async with running(writer):
        before = submit_calls(writer, "wp-b-", 40)
        await until(lambda: writer.worker_pid is not None)
        os.kill(writer.worker_pid, signal.SIGKILL)
        await until(lambda: writer.restarts > 0)
        after = submit_calls(writer, "wp-c-", 40)
        assert await writer.flush(WAIT)
        assert await calls_written(database, "wp-b-") == before
        assert await calls_written(database, "wp-c-") == after
        assert writer.dropped == 0


async def test_a_worker_runs_the_services_recorder_and_a_replacement_sees_what_it_missed(
        database):
    writer = WriterProcess(database, "test", restart_base=0.05, restart_cap=0.2,
                           recorder=RecorderSpec(CALLS_RECORDER, {"prefix": "wp-g-"}))
    async with running(writer):
        for n in range(40):
            writer.observe(("call", n))
            writer.observe(("nothing",))  # settles with the facts before it
        await until(lambda: writer.worker_pid is not None)
        os.kill(writer.worker_pid, signal.SIGKILL)
        await until(lambda: writer.restarts > 0)
        for n in range(40, 80):
            writer.observe(("call", n))
        assert await writer.flush(WAIT)
        assert await calls_written(database, "wp-g-") == {f"wp-g-{n}" for n in range(80)}
        assert writer.queued == 0 and writer.written >= 160


async def test_while_the_database_is_away_facts_wait_and_then_catch_up(database):
    async with Relay(database) as relay, running(WriterProcess(relay.url, "test")) as writer:
        assert await writer.flush(WAIT)
        await relay.cut()
        ids = submit_calls(writer, "wp-d-", 20)
        await until(lambda: writer.write_failures > 0)
        assert writer.queued == 40 and not writer.database_ok
        assert not await writer.flush(0.5)

        await relay.open()
        assert await writer.flush(WAIT * 2)
        assert await calls_written(database, "wp-d-") == ids
        assert writer.database_ok and writer.dropped == 0


async def test_stopping_writes_what_is_queued_and_leaves_no_worker_behind(database):
    writer = WriterProcess(database, "test")
    writer.start()
    ids = submit_calls(writer, "wp-e-", 50)
    await until(lambda: writer.worker_pid is not None)
    pid = writer.worker_pid
    await writer.stop(flush_timeout=WAIT)
    assert await calls_written(database, "wp-e-") == ids
    assert not alive(pid)


def alive(pid: int) -> bool:
    """Running (an exited process whose parent is gone may stay a zombie until reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


SERVICE = """
import asyncio, os, sys
from common.records.offload import RecorderSpec, WriterProcess
from tests.records.test_writer_process import submit_calls

async def main():
    writer = WriterProcess(sys.argv[1], "test", send_every=0)
    writer.start()
    submit_calls(writer, "wp-f-", 50)
    while writer.write_failures == 0:  # the worker holds every fact: it has tried to write them
        await asyncio.sleep(0.01)
    print(writer.worker_pid, flush=True)
    os.kill(os.getpid(), 9)

asyncio.run(main())
"""


async def test_a_service_killed_outright_leaves_its_worker_to_write_what_it_holds(database):
    async with Relay(database) as relay:
        await relay.cut()
        service = await asyncio.create_subprocess_exec(
            sys.executable, "-c", SERVICE, relay.url, stdout=asyncio.subprocess.PIPE)
        worker_pid = int((await service.stdout.readline()).decode())
        assert await service.wait() == -signal.SIGKILL

        await relay.open()
        async with asyncio.timeout(WAIT):
            while await calls_written(database, "wp-f-") != {f"wp-f-{n}" for n in range(50)}:
                await asyncio.sleep(0.05)
            while alive(worker_pid):
                await asyncio.sleep(0.05)
