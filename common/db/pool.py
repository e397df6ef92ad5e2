"""The asyncpg pool every service opens on DATABASE_URL, with timeouts on connect and on commands."""
from __future__ import annotations

import asyncio
import logging

import asyncpg

from common.db.migrations import load_migrations, migrate

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0
COMMAND_TIMEOUT = 10.0


async def create_pool(url: str, *, min_size: int = 1, max_size: int = 10,
                      reset_sessions: bool = True,
                      application_name: str | None = None) -> asyncpg.Pool:
    """`reset_sessions=False` skips the reset query asyncpg otherwise sends each time a connection
    goes back to the pool (RESET ALL, UNLISTEN *, CLOSE ALL, advisory unlocks: one more round trip
    per statement run through the pool); an open transaction is still rolled back. Only for a pool
    whose users never change session state (SET, LISTEN, session advisory locks, cursors
    outside a transaction), such as the dialer's store (common.dialer.store).
    `application_name` names the connections in pg_stat_activity."""
    return await asyncpg.create_pool(
        url, min_size=min_size, max_size=max_size, timeout=CONNECT_TIMEOUT,
        command_timeout=COMMAND_TIMEOUT, reset=None if reset_sessions else _keep_session,
        server_settings={"application_name": application_name} if application_name else None)


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Nothing to reset: asyncpg has already rolled back any open transaction."""


async def connect(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url, timeout=CONNECT_TIMEOUT, command_timeout=COMMAND_TIMEOUT)


class LazyPool:
    """The process's pool on `url`, shared by whoever receives it (in screenpop: the accounts
    and the QA desk). It opens no connection until one is needed, and
    `get` brings the schema up to date the first time (one node at a time), so a database that
    is down at start-up keeps nothing from starting: each use retries until it answers."""

    def __init__(self, url: str, *, max_size: int = 10) -> None:
        self.url = url
        self._max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._migrated = False
        self._lock = asyncio.Lock()

    async def pool(self) -> asyncpg.Pool:
        """The pool, schema not checked (creating it opens no connection)."""
        if self._pool is None:
            self._pool = await create_pool(self.url, min_size=0, max_size=self._max_size)
        return self._pool

    async def get(self) -> asyncpg.Pool:
        """The pool, once the schema is up to date."""
        if self._migrated and self._pool is not None:
            return self._pool
        async with self._lock:
            pool = await self.pool()
            if not self._migrated:
                async with pool.acquire() as conn:
                    applied = await migrate(conn, load_migrations())
                if applied:
                    log.info("database schema migrated: %s", ", ".join(m.label for m in applied))
                self._migrated = True
        return pool

    async def close(self) -> None:
        pool, self._pool, self._migrated = self._pool, None, False
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), CONNECT_TIMEOUT)
            except TimeoutError:
                pool.terminate()
