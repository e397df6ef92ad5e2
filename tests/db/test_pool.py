"""A pool that skips asyncpg's reset query still rolls back what a borrower left open."""
from __future__ import annotations

from common.db.pool import create_pool


async def test_a_pool_without_session_reset_rolls_back_an_open_transaction(database):
    pool = await create_pool(database, min_size=1, max_size=1, reset_sessions=False)
    try:
        await pool.execute("CREATE TABLE t (n integer)")
        async with pool.acquire() as conn:
            await conn.execute("BEGIN")
            await conn.execute("INSERT INTO t VALUES (1)")
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM t") == 0
            assert not conn.is_in_transaction()
    finally:
        await pool.close()
