"""`python -m common.records.worker SERVICE`: the process a service's WriterProcess starts to
write its call-record facts (see common.records.offload).

It reads frames of facts on stdin, writes them with a RecordWriter on DATABASE_URL, and answers
on stdout with its figures whenever they change. The end of its input (the service stopping, or
gone) makes it write what it holds and exit; SIGINT and SIGTERM are left to the service. Before anything else it lowers its own CPU
priority as RECORD_WRITER_PRIORITY says: `idle` (the default: it runs only on a core nothing
else wants), `low` (nice 19) or `normal`.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

import uvloop

from common.records.offload import WorkerStatus, encode_frame, read_frame
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


def status_of(records: RecordWriter) -> WorkerStatus:
    return WorkerStatus(settled=records.settled, written=records.written,
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
    reported = WorkerStatus()

    async def report() -> None:
        nonlocal reported
        if (status := status_of(records)) != reported:
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
        while (facts := await read_frame(reader)) is not None:
            for fact in facts:
                records.submit(fact)
    finally:
        reporter.cancel()
        await records.stop(FLUSH_ON_EXIT)
        await report()
        answers.close()


def main() -> None:
    service = sys.argv[1] if len(sys.argv) > 1 else "service"
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO").upper(),
                        format=f"%(asctime)s %(levelname)s {service}.records: %(message)s")
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
