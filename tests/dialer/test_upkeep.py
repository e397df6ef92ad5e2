"""The dialer's upkeep vacuums dialer_leads once enough leads changed (the claim walks past the
dead entries a vacuum removes), and not before."""
from __future__ import annotations

import asyncio

import asyncpg

from common.db.pool import create_pool
from common.dialer.upkeep import LeadQueueUpkeep


async def vacuums(pool: asyncpg.Pool) -> int:
    return await pool.fetchval("SELECT vacuum_count FROM pg_stat_user_tables "
                               "WHERE relid = 'dialer_leads'::regclass")


async def dead_rows_seen(pool: asyncpg.Pool, at_least: int) -> None:
    """The statistics lag the writes by up to a second."""
    while await pool.fetchval("SELECT n_dead_tup FROM pg_stat_user_tables "
                              "WHERE relid = 'dialer_leads'::regclass") < at_least:
        await asyncio.sleep(0.2)


async def test_the_leads_are_vacuumed_once_enough_rows_are_dead_and_not_before(database):
    pool = await create_pool(database, min_size=1, max_size=2)
    try:
        await pool.execute("INSERT INTO dialer_campaigns (campaign_id, name, mode) "
                           "VALUES ('c1', 'Campaña', 'progressive')")
        await pool.execute("INSERT INTO dialer_leads (campaign_id, preinstallation_id, phone, "
                           "time_zone, next_at) SELECT 'c1', 'p' || i, '+5255' || "
                           "lpad(i::text, 8, '0'), 'America/Mexico_City', now() "
                           "FROM generate_series(1, 300) i")
        upkeep = LeadQueueUpkeep(pool, dead_rows=200, every=0.05)
        await pool.execute("UPDATE dialer_leads SET attempts = 1 WHERE lead_id <= 100")
        await dead_rows_seen(pool, 100)
        assert not await upkeep.vacuum_if_due()
        assert await vacuums(pool) == 0

        await pool.execute("UPDATE dialer_leads SET attempts = 2 WHERE lead_id <= 250")
        await dead_rows_seen(pool, 200)
        task = asyncio.create_task(upkeep.run())
        async with asyncio.timeout(20):
            while upkeep.vacuums == 0:
                await asyncio.sleep(0.05)
        task.cancel()
        assert await vacuums(pool) == 1
        assert await pool.fetchval("SELECT n_dead_tup FROM pg_stat_user_tables "
                                   "WHERE relid = 'dialer_leads'::regclass") == 0
    finally:
        await pool.close()
