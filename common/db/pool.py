"""The asyncpg pool every service opens on DATABASE_URL, with timeouts on connect and on commands."""
from __future__ import annotations

import asyncio
import logging

import asyncpg

from common.db.migrations import load_migrations, migrate

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0
COMMAND_TIMEOUT = 10.0


async def create_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    return await asyncpg.create_pool(url, min_size=min_size, max_size=max_size,
                                     timeout=CONNECT_TIMEOUT, command_timeout=COMMAND_TIMEOUT)


async def connect(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url, timeout=CONNECT_TIMEOUT, command_timeout=COMMAND_TIMEOUT)


class LazyPool:
    """A pool on `url` opened on first use, with the schema brought up to date then (one node at
    a time), so a database that is down at start-up keeps nothing from starting: each use retries
    until it answers. One per process, handed to whoever needs it."""

    def __init__(self, url: str, *, max_size: int = 10) -> None:
        self.url = url
        self._max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> asyncpg.Pool:
        if self._pool is not None:
            return self._pool
        async with self._lock:
            if self._pool is None:
                pool = await create_pool(self.url, min_size=0, max_size=self._max_size)
                try:
                    async with pool.acquire() as conn:
                        applied = await migrate(conn, load_migrations())
                except BaseException:
                    pool.terminate()
                    raise
                if applied:
                    log.info("database schema migrated: %s", ", ".join(m.label for m in applied))
                self._pool = pool
        return self._pool

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), CONNECT_TIMEOUT)
            except TimeoutError:
                pool.terminate()
