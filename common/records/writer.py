"""The per-process queue of call-record facts, written to PostgreSQL in batches.

`submit` never blocks, never raises and does no I/O, so the pop path only appends to a deque.
One task takes up to BATCH_LIMIT facts at a time and writes them in one transaction (one
`executemany` per kind, in facts.ORDER). It lets `linger` seconds pass after the first fact of a
batch before taking it: a call's first update brings a burst of facts (the call, its channels,
its agents, its events, screenpop's match), and writing them as one transaction rather than as
they trickle in costs both the service and PostgreSQL a fraction of the work, on the cores the
pops need at that very moment. Within a batch, facts that supersede each other (Fact.latest)
are written once, and a call's stub row only until this writer has seen its row written.

While the database does not answer the batch goes back to the front and is retried with capped
backoff; past `max_queued` the oldest facts are dropped, counted, and each call that lost one
gets a gap note once the database is back. A fact the database refuses (bad data) is dropped
alone and counted as a write failure, so it cannot hold up the rest.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping
from typing import Protocol

import asyncpg
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from common.backoff import backoff_delay
from common.db.migrations import load_migrations, migrate
from common.db.pool import create_pool
from common.records.facts import (
    DROPPED_GAP,
    LOCK_CALLS,
    NEEDS_ROW,
    ORDER,
    STATEMENTS,
    STUB,
    Fact,
    gap_fact,
)
from common.tasks import cancel_and_wait, cancel_requested, wait_set

log = logging.getLogger(__name__)

BATCH_LIMIT = 1000
LINGER = 0.5
WRITE_TIMEOUT = 10.0
GAPS_KEPT = 10_000  # calls waiting for their gap note (past that, only the counter says it)
ROWS_PER_STATEMENT = 20
ROWS_KEPT = 20_000  # calls whose record row this writer knows it wrote (no stub row needed)
_REFUSED = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError,
            asyncpg.SyntaxOrAccessError)


class RecordWriter:
    def __init__(self, connect: Callable[[], Awaitable[asyncpg.Pool]], *,
                 max_queued: int = 200_000, retry_base: float = 0.5, retry_cap: float = 30.0,
                 rand: random.Random | None = None, linger: float = LINGER) -> None:
        """`connect` gives the pool to write with, the writer's own."""
        self._connect = connect
        self._max_queued = max_queued
        self._retry_base = retry_base
        self._retry_cap = retry_cap
        self._linger = linger
        self._rand = rand or random.Random()
        self._queue: deque[tuple[Fact, float]] = deque()
        self._gapped: OrderedDict[str, None] = OrderedDict()
        self._rows: OrderedDict[str, None] = OrderedDict()  # calls whose row this writer wrote
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._pool: asyncpg.Pool | None = None
        self._task: asyncio.Task | None = None
        self.written = 0
        self.submitted = 0
        self.settled = 0  # facts submitted that have left the queue: written, refused or dropped
        self.dropped = 0
        self.write_failures = 0
        self.database_ok = False
        self.last_error: str | None = None

    # --- the pop path ----------------------------------------------------------------------
    def submit(self, fact: Fact) -> None:
        self.submitted += 1
        self._queue.append((fact, time.monotonic()))
        if len(self._queue) > self._max_queued:
            lost, _ = self._queue.popleft()
            self.dropped += 1
            self.settled += 1
            note_gap(self._gapped, lost.call_id)
        self._idle.clear()
        self._wakeup.set()

    # --- figures ---------------------------------------------------------------------------
    @property
    def queued(self) -> int:
        return len(self._queue)

    @property
    def lag(self) -> float:
        """Seconds the oldest queued fact has waited (0 when nothing waits)."""
        return time.monotonic() - self._queue[0][1] if self._queue else 0.0

    # --- life ------------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="record-writer")

    async def flush(self, timeout: float) -> bool:
        """Wait until everything submitted is written; False if that took longer than timeout."""
        return await wait_set(self._idle, timeout)

    async def stop(self, flush_timeout: float = 3.0) -> None:
        if self._task is not None and not await self.flush(flush_timeout):
            log.warning("record writer stopping with unwritten facts queued=%d", self.queued)
        await cancel_and_wait(self._task)
        self._task = None
        self._drop_pool()

    def _drop_pool(self) -> None:
        """Close the pool; connect again next time."""
        if self._pool is not None:
            self._pool.terminate()
        self._pool = None

    # --- the writing task ------------------------------------------------------------------
    async def _run(self) -> None:
        failures = 0
        while not cancel_requested():
            if not self._queue and not self._gapped:
                self._idle.set()
                self._wakeup.clear()
                await self._wakeup.wait()
                if self._linger > 0 and len(self._queue) < BATCH_LIMIT:
                    await asyncio.sleep(self._linger)
                continue
            batch = self._take()
            gapped = list(self._gapped)[:BATCH_LIMIT]
            facts = [fact for fact, _ in batch] + [gap_fact(cid, DROPPED_GAP) for cid in gapped]
            try:
                if self._pool is None:
                    self._pool = await asyncio.wait_for(self._connect(), WRITE_TIMEOUT)
                written = await asyncio.wait_for(self._write(facts), WRITE_TIMEOUT * 3)
            except Exception as exc:  # noqa: BLE001 - database away: keep the facts, retry later
                self._queue.extendleft(reversed(batch))
                self._trim()
                failures += 1
                self._down(exc)
                await asyncio.sleep(backoff_delay(failures - 1, base=self._retry_base,
                                                  cap=self._retry_cap, rand=self._rand))
                continue
            for call_id in gapped:
                self._gapped.pop(call_id, None)
            if failures:
                log.info("database back; call records catching up queued=%d", self.queued)
            failures = 0
            self.database_ok = True
            self.written += written
            self.settled += len(batch)

    async def _write(self, facts: list[Fact]) -> int:
        """All facts in one transaction; when the database refuses one, each on its own."""
        assert self._pool is not None
        async with self._pool.acquire() as conn:
            try:
                async with conn.transaction():
                    rows = await _execute(conn, facts, self._rows)
                self._remember_rows(rows)
                return len(facts)
            except _REFUSED as exc:
                log.warning("call-record batch refused (%s); writing its facts one by one", exc)
            written = 0
            for fact in facts:
                try:
                    async with conn.transaction():
                        await _execute(conn, [fact])
                    written += 1
                except _REFUSED as exc:
                    self.write_failures += 1
                    log.error("call-record fact refused kind=%s call=%s: %s", fact.kind,
                              fact.call_id, exc)
            return written

    def _remember_rows(self, call_ids: set[str]) -> None:
        for call_id in call_ids:
            self._rows[call_id] = None
            self._rows.move_to_end(call_id)
        while len(self._rows) > ROWS_KEPT:
            self._rows.popitem(last=False)

    def _take(self) -> list[tuple[Fact, float]]:
        """The next batch. A fact about several calls ends its batch: the facts after it must
        not be written before it (a batch is written grouped by kind)."""
        batch: list[tuple[Fact, float]] = []
        while self._queue and len(batch) < BATCH_LIMIT:
            batch.append(self._queue.popleft())
            if not batch[-1][0].call_id:
                break
        return batch

    def _trim(self) -> None:
        while len(self._queue) > self._max_queued:
            lost, _ = self._queue.popleft()
            self.dropped += 1
            self.settled += 1
            note_gap(self._gapped, lost.call_id)

    def _down(self, exc: BaseException) -> None:
        self.write_failures += 1
        reason = f"{type(exc).__name__}: {exc}"[:200]
        if self.database_ok or self.last_error is None:
            log.warning("database unavailable for call records (%s); queueing queued=%d",
                        reason, self.queued)
        self.database_ok = False
        self.last_error = reason
        if isinstance(exc, (OSError, asyncpg.InterfaceError, TimeoutError)):
            self._drop_pool()


def note_gap(gapped: OrderedDict[str, None], call_id: str) -> None:
    """A call that lost a fact to a full queue, kept for its gap note (the newest GAPS_KEPT)."""
    if call_id:
        gapped[call_id] = None
        gapped.move_to_end(call_id)
        if len(gapped) > GAPS_KEPT:
            gapped.popitem(last=False)


def coalesce(facts: list[Fact]) -> list[Fact]:
    """Each fact with a `latest` key once: the last of its kind and key, in the place of the
    first (an agent's row is numbered in the order the agents first reached the call)."""
    first: dict[tuple[str, str], int] = {}
    kept: list[Fact] = []
    for fact in facts:
        if not fact.latest:
            kept.append(fact)
            continue
        at = first.setdefault((fact.kind, fact.latest), len(kept))
        if at == len(kept):
            kept.append(fact)
        else:
            kept[at] = fact
    return kept


async def _execute(conn: asyncpg.Connection, facts: list[Fact],
                   rows_written: Collection[str] = ()) -> set[str]:
    """Writes the facts; the calls whose record row now exists. A call needs a stub row unless
    its call fact is in the batch (written first) or this writer has seen its row written
    (`rows_written`)."""
    # Both services write about the same calls at the same moment, each statement in its own
    # order (and the QA trigger updates a call's record from its agent rows): every transaction
    # first takes one lock per call it touches, in one order, so two batches wait for each other
    # instead of deadlocking on each other's rows.
    by_kind: dict[str, list[Fact]] = {}
    needed: set[str] = set()
    for fact in coalesce(facts):
        by_kind.setdefault(fact.kind, []).append(fact)
        if fact.kind in NEEDS_ROW:
            needed.add(fact.call_id)
    recorded = {fact.call_id for fact in by_kind.get("call", ())}
    if needed or recorded:
        await conn.execute(LOCK_CALLS, list(needed | recorded))
    stubs = sorted(call_id for call_id in needed - recorded if call_id not in rows_written)
    if stubs:
        await _execute_many(conn, STUB, [(call_id,) for call_id in stubs])
    for kind in ORDER:
        if kind in by_kind:
            ordered = sorted(by_kind[kind], key=lambda fact: fact.call_id)
            await _execute_many(conn, STATEMENTS[kind], [fact.args for fact in ordered])
    return needed | recorded


async def _execute_many(conn: asyncpg.Connection, statement: str, rows: list[tuple]) -> None:
    """executemany in pieces of ROWS_PER_STATEMENT: asyncpg encodes and sends all the rows of
    one call without returning to the loop (some 20 µs a call row), so a batch written in one
    piece would hold the pops back for milliseconds."""
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        await conn.executemany(statement, rows[start:start + ROWS_PER_STATEMENT])


class FactSink(Protocol):
    """Where a service's facts go: a RecordWriter in the process, or a WriterProcess beside it."""

    written: int
    dropped: int
    write_failures: int
    database_ok: bool

    @property
    def queued(self) -> int: ...

    @property
    def lag(self) -> float: ...

    def submit(self, fact: Fact) -> None: ...

    def start(self) -> None: ...

    async def flush(self, timeout: float) -> bool: ...

    async def stop(self, flush_timeout: float = 3.0) -> None: ...


class WriterMetrics:
    """A Prometheus collector reading a writer's figures at scrape time."""

    def __init__(self, writer: FactSink, service: str) -> None:
        self._writer = writer
        self._service = service

    def collect(self) -> Iterator[Metric]:
        prefix, writer = f"{self._service}_records", self._writer
        for name, doc, value in (
            ("written", "Call-record facts written to PostgreSQL", writer.written),
            ("dropped", "Call-record facts dropped because the queue was full", writer.dropped),
            ("write_failures", "Failed call-record writes (database away or fact refused)",
             writer.write_failures),
        ):
            yield CounterMetricFamily(f"{prefix}_{name}", doc, value=value)
        for name, doc, value in (
            ("queued", "Call-record facts waiting to be written", writer.queued),
            ("lag_seconds", "Age of the oldest call-record fact waiting", writer.lag),
            ("database_up", "1 while the last call-record write succeeded",
             int(writer.database_ok)),
        ):
            yield GaugeMetricFamily(f"{prefix}_{name}", doc, value=value)


def call_records_on(env: Mapping[str, str]) -> bool:
    """False with CALL_RECORDS=off (the records benchmark's baseline): the services write no call
    records, and everything else that uses DATABASE_URL (accounts, QA desk, dialer) still does."""
    return env.get("CALL_RECORDS", "").strip().lower() not in ("off", "0", "no", "false")


def records_database_url(env: Mapping[str, str]) -> str | None:
    """Where a service writes call records: DATABASE_URL, unless CALL_RECORDS=off."""
    return (env.get("DATABASE_URL", "").strip() or None) if call_records_on(env) else None


def pool_connector(url: str, *, max_size: int = 2, reset_sessions: bool = True,
                   application_name: str | None = None
                   ) -> Callable[[], Awaitable[asyncpg.Pool]]:
    """What RecordWriter (and the dialer) need to open a small pool of their own on `url`: the
    schema is brought up to date first (one node at a time; a database that was down at start-up
    is migrated when it answers, as the writer retries). See create_pool for the options."""
    async def connect() -> asyncpg.Pool:
        pool = await create_pool(url, min_size=1, max_size=max_size,
                                 reset_sessions=reset_sessions, application_name=application_name)
        try:
            async with pool.acquire() as conn:
                applied = await migrate(conn, load_migrations())
        except BaseException:
            await pool.close()
            raise
        if applied:
            log.info("database schema migrated: %s", ", ".join(m.label for m in applied))
        return pool
    return connect
