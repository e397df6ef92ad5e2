"""A service's call records written beside it, in a child process (common.records.worker).

Writing a record costs more than knowing what goes in it: building the facts, grouping them,
encoding them for PostgreSQL, the round trips, and the work of the PostgreSQL backend each
statement wakes, which the kernel runs on the waking process's core. Done in the service's own
loop, all of that sits in front of the next pop; done in a worker at idle CPU priority, it runs
when the pops leave a core free. The service hands over facts (`submit`) or, when the worker
runs the service's recorder (`RecorderSpec`: telephony's CallRecorder), what the recorder
observes (`observe`: the AMI events and call updates, as they are). Either only appends to a
deque; every `send_every` seconds what is new goes down a pipe, in one frame.

An item stays here until the worker says its facts have left the worker's queue (written,
refused or dropped): a worker that dies is started again, with backoff, and sent those items
again (every write is idempotent; a new worker's recorder knows only what it is sent from then
on, so a call that was live across the restart may lack who hung up and the cause). Past
`max_queued` items not yet sent, the oldest are dropped, counted, and the calls of the dropped
facts get a gap note, as RecordWriter does with its own queue. The worker's figures come back with each answer,
so /metrics reads the same as with a writer in the process.
"""
from __future__ import annotations

import asyncio
import logging
import os
import pickle
import random
import struct
import sys
import time
from collections import OrderedDict, deque
from collections.abc import Mapping
from typing import Any, NamedTuple

from common.backoff import backoff_delay
from common.records.facts import DROPPED_GAP, Fact, gap_fact
from common.records.writer import note_gap
from common.tasks import cancel_and_wait, cancel_requested, wait_set

log = logging.getLogger(__name__)

SEND_EVERY = 0.05
SEND_LIMIT = 2000  # items per frame
EXIT_TIMEOUT = 8.0  # for a stopping worker to write what it holds and exit
HEALTHY_AFTER = 30.0  # a worker that lived this long starts the backoff again from the bottom
_HEADER = struct.Struct(">I")


class RecorderSpec(NamedTuple):
    """A recorder the worker runs on what the service observes (`WriterProcess.observe`):
    `factory` ("module:function") is called in the worker with the writer's submit and `options`,
    and returns the function each observation goes to."""

    factory: str
    options: dict


class WorkerStatus(NamedTuple):
    """What a worker says about itself, all counts since it started (`settled`: the items it was
    sent, facts or observations, whose facts have all left its queue)."""

    settled: int = 0
    written: int = 0
    dropped: int = 0
    write_failures: int = 0
    database_ok: bool = False
    last_error: str | None = None


def encode_frame(payload: Any) -> bytes:
    body = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(body)) + body


async def read_frame(reader: asyncio.StreamReader) -> Any | None:
    """The next frame's payload; None at the end of the stream. Only the two ends of one private
    pipe write frames, so unpickling them trusts nothing it did not send itself."""
    try:
        (size,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
        return pickle.loads(await reader.readexactly(size))
    except asyncio.IncompleteReadError:
        return None


class WriterProcess:
    def __init__(self, database_url: str, service: str, *, max_queued: int = 200_000,
                 send_every: float = SEND_EVERY, restart_base: float = 0.5,
                 restart_cap: float = 30.0, rand: random.Random | None = None,
                 env: Mapping[str, str] | None = None,
                 recorder: RecorderSpec | None = None) -> None:
        """The worker gets the service's environment (`env`, default os.environ: its
        RECORD_WRITER_PRIORITY, LOG_LEVEL) with DATABASE_URL set to `database_url`, and runs
        `recorder` on what `observe` is given."""
        self._service = service
        self.recorder = recorder
        self._env = {**(os.environ if env is None else env), "DATABASE_URL": database_url}
        self._max_queued = max_queued
        self._send_every = send_every
        self._restart_base = restart_base
        self._restart_cap = restart_cap
        self._rand = rand or random.Random()
        self._unsent: deque[tuple[Any, float]] = deque()  # facts and observations
        self._in_flight: deque[tuple[Any, float]] = deque()  # sent, not yet settled
        self._gapped: OrderedDict[str, None] = OrderedDict()
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._worker: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task | None = None
        self.written = 0
        self.dropped = 0
        self.write_failures = 0
        self.restarts = 0
        self.database_ok = False
        self.last_error: str | None = None

    # --- the pop path ----------------------------------------------------------------------
    def submit(self, fact: Fact) -> None:
        self._queue(fact)

    def observe(self, observation: Any) -> None:
        """Something for the worker's recorder (picklable; see RecorderSpec)."""
        self._queue(observation)

    def _queue(self, item: Any) -> None:
        self._unsent.append((item, time.monotonic()))
        if len(self._unsent) > self._max_queued:
            lost, _ = self._unsent.popleft()
            self.dropped += 1
            if isinstance(lost, Fact):
                note_gap(self._gapped, lost.call_id)
        self._idle.clear()
        self._wakeup.set()

    # --- figures ---------------------------------------------------------------------------
    @property
    def queued(self) -> int:
        return len(self._in_flight) + len(self._unsent)

    @property
    def lag(self) -> float:
        """Seconds the oldest fact not yet settled has waited (0 when nothing waits)."""
        oldest = self._in_flight or self._unsent
        return time.monotonic() - oldest[0][1] if oldest else 0.0

    @property
    def worker_pid(self) -> int | None:
        return self._worker.pid if self._worker is not None else None

    # --- life ------------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"record-writer-{self._service}")

    async def flush(self, timeout: float) -> bool:
        """Wait until everything submitted is settled; False if that took longer than timeout."""
        return await wait_set(self._idle, timeout)

    async def stop(self, flush_timeout: float = 3.0) -> None:
        if self._task is None:
            return
        if not await self.flush(flush_timeout):
            log.warning("record writer stopping with unwritten facts queued=%d", self.queued)
        await cancel_and_wait(self._task)
        self._task = None

    # --- the worker ------------------------------------------------------------------------
    async def _run(self) -> None:
        failures = 0
        while not cancel_requested():
            started = time.monotonic()
            try:
                self._worker = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "common.records.worker", self._service,
                    stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                    env=self._env)
            except OSError as exc:
                log.error("cannot start the call-record worker: %s", exc)
            else:
                try:
                    await self._serve(self._worker)
                except asyncio.CancelledError:
                    await self._close(self._worker)
                    raise
                finally:
                    self._requeue()
                log.warning("call-record worker exited rc=%s; starting another (queued=%d)",
                            self._worker.returncode, self.queued)
            self.restarts += 1
            failures = 1 if time.monotonic() - started > HEALTHY_AFTER else failures + 1
            await asyncio.sleep(backoff_delay(failures - 1, base=self._restart_base,
                                              cap=self._restart_cap, rand=self._rand))

    async def _serve(self, worker: asyncio.subprocess.Process) -> None:
        """Until the worker is gone: send it the facts, read its answers."""
        assert worker.stdin is not None and worker.stdout is not None
        worker.stdin.write(encode_frame(self.recorder))  # its first frame: the recorder or None
        tasks = {asyncio.create_task(self._send(worker.stdin)),
                 asyncio.create_task(self._listen(worker.stdout))}
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                await cancel_and_wait(task)
        if worker.returncode is None:
            worker.kill()
        await worker.wait()

    async def _send(self, stdin: asyncio.StreamWriter) -> None:
        try:
            while True:
                if not self._unsent and not self._gapped:
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    await asyncio.sleep(self._send_every)
                    continue
                items = [self._unsent.popleft()
                         for _ in range(min(SEND_LIMIT, len(self._unsent)))]
                now = time.monotonic()
                while self._gapped and len(items) < SEND_LIMIT:
                    call_id, _ = self._gapped.popitem(last=False)
                    items.append((gap_fact(call_id, DROPPED_GAP), now))
                self._in_flight.extend(items)
                stdin.write(encode_frame([item for item, _ in items]))
                await stdin.drain()
        except (ConnectionError, BrokenPipeError) as exc:
            log.warning("call-record worker stopped reading: %s", exc)

    async def _listen(self, stdout: asyncio.StreamReader) -> None:
        last = WorkerStatus()
        while (status := await read_frame(stdout)) is not None:
            for _ in range(min(status.settled - last.settled, len(self._in_flight))):
                self._in_flight.popleft()
            self.written += status.written - last.written
            self.dropped += status.dropped - last.dropped
            self.write_failures += status.write_failures - last.write_failures
            self.database_ok, self.last_error = status.database_ok, status.last_error
            last = status
            if not (self._in_flight or self._unsent or self._gapped):
                self._idle.set()

    def _requeue(self) -> None:
        """The facts a worker took with it go first to the next one."""
        self._unsent.extendleft(reversed(self._in_flight))
        self._in_flight.clear()
        if self._unsent:
            self._wakeup.set()

    async def _close(self, worker: asyncio.subprocess.Process) -> None:
        """Stopping: the worker writes what it holds on the end of its input, then exits."""
        if worker.returncode is not None:
            return
        if worker.stdin is not None:
            worker.stdin.close()
        try:
            await asyncio.wait_for(worker.wait(), EXIT_TIMEOUT)
        except TimeoutError:
            log.warning("call-record worker did not exit in %.0f s; killed", EXIT_TIMEOUT)
            worker.kill()
            await worker.wait()


def writer_for(database_url: str | None, service: str,
               recorder: RecorderSpec | None = None) -> WriterProcess | None:
    """The writer of a service on DATABASE_URL; None (records off, said once) without one."""
    if not database_url:
        log.warning("%s: DATABASE_URL not set or CALL_RECORDS=off; call records are off", service)
        return None
    return WriterProcess(database_url, service, recorder=recorder)
