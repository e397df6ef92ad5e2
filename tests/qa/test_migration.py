"""0003 applied to a database that already holds call records (written under 0001/0002)."""
from __future__ import annotations

import asyncpg

from common.db.migrations import load_migrations, migrate


async def test_existing_records_get_start_time_and_scored_agent(empty_database):
    migrations = load_migrations()
    conn = await asyncpg.connect(empty_database, timeout=5)
    try:
        await migrate(conn, [m for m in migrations if m.version < 3])
        await conn.execute("""
            INSERT INTO call_records (call_id, ring_at) VALUES ('old', '2026-11-01 10:00Z');
            INSERT INTO call_records (call_id) VALUES ('no-ring');
            INSERT INTO call_agents (call_id, position, username, endpoint, answered_at) VALUES
                ('old', 1, 'ana', 'PJSIP/6001', '2026-11-01 10:00:05Z'),
                ('old', 2, 'beto', 'PJSIP/6002', '2026-11-01 10:03:00Z'),
                ('old', 3, 'carla', 'PJSIP/6003', NULL)""")
        assert [m.version for m in await migrate(conn, migrations[:3])] == [3]
        rows = {r["call_id"]: r for r in await conn.fetch(
            "SELECT call_id, started_at, ring_at, created_at, agent_username FROM call_records")}
        assert rows["old"]["started_at"] == rows["old"]["ring_at"]
        assert rows["old"]["agent_username"] == "beto"
        assert rows["no-ring"]["started_at"] == rows["no-ring"]["created_at"]
        assert rows["no-ring"]["agent_username"] is None
    finally:
        await conn.close()
