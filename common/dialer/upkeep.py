"""Keeps the claim fast on a big campaign: VACUUM of dialer_leads whenever enough leads changed.

Every lead a claim takes leaves a dead entry at the head of the due index (the claim moves the
lead out of 'ready'; its finish puts it back further down), and only VACUUM removes those: until
then each claim walks past all of them (measured: 2 ms per claim after 14,000 decisions, 0.04 ms
after a vacuum). Migration 0006 tells autovacuum to run after a fixed number of dead rows, but
autovacuum may be off, and it looks at a table at most once per `autovacuum_naptime` (one
minute by default, 60,000 decisions at the target rate), so a dialer runs this task too.

`VACUUM (SKIP_LOCKED, INDEX_CLEANUP ON)`: a dialer process whose neighbour is vacuuming skips
its turn instead of queueing behind it, and the index entries are removed even when few heap
pages have dead rows (PostgreSQL would otherwise skip the indexes, which is where the cost is).
It needs the table's owner (the role that ran the migrations) or a superuser: for another role
PostgreSQL skips the table with a warning, and the claim is only as fast as autovacuum keeps it.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time

import asyncpg

from common.backoff import backoff_delay
from common.tasks import cancel_requested

log = logging.getLogger(__name__)

DEAD_ROWS = """
SELECT coalesce((SELECT n_dead_tup FROM pg_stat_user_tables
                 WHERE relid = 'dialer_leads'::regclass), 0)
"""
VACUUM = "VACUUM (SKIP_LOCKED, INDEX_CLEANUP ON) dialer_leads"


class LeadQueueUpkeep:
    """`await upkeep.run()` as a task of the dialer process (cancel it to stop), or
    `await upkeep.vacuum_if_due()` from a loop of its own."""

    def __init__(self, pool: asyncpg.Pool, *, dead_rows: int = 10_000, every: float = 2.0,
                 vacuum_timeout: float = 300.0, rand: random.Random | None = None) -> None:
        self._pool = pool
        self._dead_rows = dead_rows
        self._every = every
        self._vacuum_timeout = vacuum_timeout
        self._rand = rand
        self.vacuums = 0
        self.vacuum_seconds = 0.0

    async def vacuum_if_due(self) -> bool:
        """Vacuums dialer_leads when the statistics count at least `dead_rows` dead rows in it
        (they lag about a second behind the writes); True when it did."""
        dead = await self._pool.fetchval(DEAD_ROWS, timeout=10)
        if dead < self._dead_rows:
            return False
        started = time.perf_counter()
        await self._pool.execute(VACUUM, timeout=self._vacuum_timeout)
        self.vacuums += 1
        self.vacuum_seconds += time.perf_counter() - started
        log.debug("dialer upkeep: vacuumed dialer_leads (%d dead rows) in %.2f s", dead,
                  time.perf_counter() - started)
        return True

    async def run(self) -> None:
        failures = 0
        while not cancel_requested():
            try:
                await self.vacuum_if_due()
            except (asyncpg.PostgresError, OSError, TimeoutError) as exc:
                failures += 1
                log.warning("dialer upkeep: could not vacuum dialer_leads (%s); the claim slows "
                            "down until autovacuum or the next try does it", exc)
                await asyncio.sleep(backoff_delay(failures - 1, base=self._every, cap=60.0,
                                                  rand=self._rand))
                continue
            if failures:
                log.info("dialer upkeep: vacuuming dialer_leads again")
            failures = 0
            await asyncio.sleep(self._every)
