"""screenpop opens one PostgreSQL pool per process, which the accounts and the QA desk share;
call records are written by its record writer's worker, on one connection of its own (counted as
connections on the server, by name)."""
from __future__ import annotations

import asyncpg
from aiohttp import web

from common.db.pool import LazyPool
from common.records.facts import event_fact
from screenpop.config import ScreenpopConfig
from screenpop.index import PreinstallationIndex
from screenpop.records import CALL_LOG
from screenpop.users import UserStore
from screenpop.web.app import create_app
from screenpop.web.state import USERS
from tests.screenpop.conftest import FAST_HASHER, PASSWORD, Agent


async def test_accounts_and_desk_share_one_connection_and_records_have_their_own(redis_url, redis, keys, database,
                                                              qa_settings):
    config = ScreenpopConfig(redis_url=redis_url, redis_prefix=keys.prefix, database_url=database,
                             secret_key="test-secret-key-0123456789", port=0)
    pool = LazyPool(database)  # the process's one pool, as serve() leaves it to create_app
    app = create_app(config, redis=redis, index=PreinstallationIndex(redis, keys), qa=qa_settings,
                     database_url=database, database=pool,
                     users=UserStore(pool, redis, keys, FAST_HASHER))
    runner = web.AppRunner(app, shutdown_timeout=2.0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    node = type("N", (), {"url": f"http://127.0.0.1:{runner.addresses[0][1]}", "app": app})()
    rita = Agent(node, "rita")
    try:
        await app[USERS].add("rita", PASSWORD, "qa", [], "Rita")  # accounts
        assert (await rita.sign_in()).status == 302
        assert (await rita.http.get(f"{node.url}/qa")).status == 200  # the desk
        writer = app[CALL_LOG].writer  # the records
        writer.submit(event_fact("c-1", "started", 1_790_000_000.0, "started", "test", {}))
        assert await writer.flush(10)
        conn = await asyncpg.connect(database, timeout=5)
        try:
            assert await conn.fetchval("SELECT count(*) FROM call_events") == 1
            others = await conn.fetch(
                "SELECT application_name FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        finally:
            await conn.close()
        assert sorted(row["application_name"] for row in others) == ["", "screenpop records"]
    finally:
        await rita.close()
        await runner.cleanup()
        await pool.close()
