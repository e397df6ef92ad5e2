"""`python -m common.records.worker SERVICE`: the process a service's WriterProcess starts to
write its call-record facts (see common.records.offload).

Its first frame on stdin says which recorder to run (a RecorderSpec, or None); the frames after
it carry facts, which it writes with a RecordWriter on DATABASE_URL, and observations, which
go to the recorder, whose facts it writes the same way. It answers on stdout with its figures
whenever they change. The end of its input (the service stopping, or gone) makes it write what
it holds and exit; SIGINT and SIGTERM are left to the service. Before anything else it lowers
its own CPU priority as RECORD_WRITER_PRIORITY says: `idle` (the default: it runs only on a
core nothing else wants), `low` (nice 19) or `normal`.
"""
from __future__ import annotations

import asyncio
import importlib
import logging
import os
import signal
import sys
from collections import deque
from collections.abc import Callable
from typing import Any

import uvloop

from common.records.facts import Fact
from common.records.offload import RecorderSpec, WorkerStatus, encode_frame, read_frame
from common.records.writer import RecordWriter, pool_connector

log = logging.getLogger("common.records.worker")

REPORT_EVERY = 0.05
FLUSH_ON_EXIT = 5.0
PRIORITIES = ("idle", "low", "normal")


def lower_priority(priority: str) -> None:
    if priority == "idle":
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            return
        except (AttributeError, OSError) as exc:  # not Linux, or refused: the next best thing
            log.warning("SCHED_IDLE unavailable (%s); using nice 19", exc)
    if priority in ("idle", "low"):
        os.nice(19 - os.nice(0))


def load_recorder(spec: RecorderSpec, submit: Callable[[Fact], None]) -> Callable[[Any], None]:
    module, name = spec.factory.split(":")
    return getattr(importlib.import_module(module), name)(submit, **spec.options)


class Intake:
    """What the worker was sent, and when each item counts as settled: once every fact it
    produced (none, for an observation that changed nothing) has left the writer's queue."""

    def __init__(self, records: RecordWriter, recorder: Callable[[Any], None] | None) -> None:
        self._records = records
        self._recorder = recorder
        self._marks: deque[int] = deque()  # per item: the writer's `submitted` once it was taken
        self._settled = 0

    def take(self, item: Any) -> None:
        try:
            if isinstance(item, Fact):
                self._records.submit(item)
            elif self._recorder is not None:
                self._recorder(item)
            else:
                log.error("an observation was sent to a worker that runs no recorder")
        except Exception:
            log.exception("call record not updated from %.200r", item)
        self._marks.append(self._records.submitted)

    def status(self) -> WorkerStatus:
        records = self._records
        while self._marks and self._marks[0] <= records.settled:
            self._marks.popleft()
            self._settled += 1
        return WorkerStatus(settled=self._settled, written=records.written,
                            dropped=records.dropped, write_failures=records.write_failures,
                            database_ok=records.database_ok, last_error=records.last_error)


async def serve(records: RecordWriter, protocol_out: int) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2 ** 26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                 os.fdopen(sys.stdin.fileno(), "rb", buffering=0))
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(protocol_out, "wb", buffering=0))
    answers = asyncio.StreamWriter(transport, protocol, None, loop)
    spec = await read_frame(reader)
    intake = Intake(records, load_recorder(spec, records.submit) if spec else None)
    reported = WorkerStatus()

    async def report() -> None:
        nonlocal reported
        if (status := intake.status()) != reported:
            answers.write(encode_frame(status))
            await answers.drain()
            reported = status

    async def report_changes() -> None:
        while True:
            await asyncio.sleep(REPORT_EVERY)
            await report()

    records.start()
    reporter = asyncio.create_task(report_changes())
    try:
        while (items := await read_frame(reader)) is not None:
            for item in items:
                intake.take(item)
    finally:
        reporter.cancel()
        await records.stop(FLUSH_ON_EXIT)
        await report()
        answers.close()


def main() -> None:
    service = sys.argv[1] if len(sys.argv) > 1 else "service"
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO").upper(),
                        format=f"%(asctime)s %(levelname)s {service} records · "
                               "%(name)s: %(message)s")
    priority = os.environ.get("RECORD_WRITER_PRIORITY", "idle").strip().lower()
    if priority not in PRIORITIES:
        log.warning("RECORD_WRITER_PRIORITY=%r unknown (use %s); using idle", priority,
                    "/".join(PRIORITIES))
        priority = "idle"
    lower_priority(priority)
    # a Ctrl-C or a SIGTERM to the service's process group is the service's to handle: this
    # process ends when its input does, after writing what it holds
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    # stdout carries the answers: nothing else may write there, so fd 1 becomes stderr
    protocol_out = os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    # the writer changes no session state: no reset query on every release of a connection
    records = RecordWriter(pool_connector(os.environ["DATABASE_URL"], reset_sessions=False,
                                          application_name=f"{service} records"))
    uvloop.run(serve(records, protocol_out))


if __name__ == "__main__":
    main()
