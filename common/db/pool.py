"""The asyncpg pool every service opens on DATABASE_URL, with timeouts on connect and on commands."""
from __future__ import annotations

import asyncpg

CONNECT_TIMEOUT = 5.0
COMMAND_TIMEOUT = 10.0


async def create_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    return await asyncpg.create_pool(url, min_size=min_size, max_size=max_size,
                                     timeout=CONNECT_TIMEOUT, command_timeout=COMMAND_TIMEOUT)


async def connect(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url, timeout=CONNECT_TIMEOUT, command_timeout=COMMAND_TIMEOUT)
