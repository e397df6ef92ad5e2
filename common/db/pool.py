"""The asyncpg pool every service opens on DATABASE_URL, with timeouts on connect and on commands."""
from __future__ import annotations

import asyncpg

CONNECT_TIMEOUT = 5.0
COMMAND_TIMEOUT = 10.0


async def create_pool(url: str, *, min_size: int = 1, max_size: int = 10,
                      reset_sessions: bool = True) -> asyncpg.Pool:
    """`reset_sessions=False` skips the reset query asyncpg otherwise sends each time a connection
    goes back to the pool (RESET ALL, UNLISTEN *, CLOSE ALL, advisory unlocks: one more round trip
    per statement run through the pool); an open transaction is still rolled back. Only for a pool
    whose users never change session state (SET, LISTEN, session advisory locks, cursors
    outside a transaction), such as the dialer's store (common.dialer.store)."""
    return await asyncpg.create_pool(url, min_size=min_size, max_size=max_size,
                                     timeout=CONNECT_TIMEOUT, command_timeout=COMMAND_TIMEOUT,
                                     reset=None if reset_sessions else _keep_session)


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Nothing to reset: asyncpg has already rolled back any open transaction."""


async def connect(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url, timeout=CONNECT_TIMEOUT, command_timeout=COMMAND_TIMEOUT)
