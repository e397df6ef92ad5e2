"""The versioned schema against a real PostgreSQL: from empty, from every earlier version, by
several nodes at once, and refusing a database that does not match the code."""
from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import asyncpg
import pytest

from common.db.migrations import Migration, MigrationError, load_migrations, migrate, schema_status
from common.records.writer import pool_connector

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = """SELECT table_name, column_name, data_type, is_nullable, column_default
            FROM information_schema.columns WHERE table_schema = 'public'
            ORDER BY table_name, column_name"""


async def connection(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url, timeout=5)


async def test_from_empty_applies_everything_once(empty_database):
    migrations = load_migrations()
    conn = await connection(empty_database)
    try:
        assert [m.label for m in await migrate(conn, migrations)] == [m.label for m in migrations]
        assert await migrate(conn, migrations) == []
        tables = {r["table_name"] for r in await conn.fetch(SCHEMA)}
        assert {"call_records", "call_agents", "call_channels", "call_events"} <= tables
        status = await schema_status(conn, migrations)
        assert status.applied == [m.version for m in migrations] and status.pending == []
    finally:
        await conn.close()


async def test_from_every_earlier_version_ends_in_the_same_schema(empty_database, database):
    migrations = load_migrations()
    conn = await connection(database)
    try:
        expected = await conn.fetch(SCHEMA)
    finally:
        await conn.close()
    for done in range(len(migrations)):
        conn = await connection(empty_database)
        try:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
            await migrate(conn, migrations[:done])
            assert [m.version for m in await migrate(conn, migrations)] == \
                [m.version for m in migrations[done:]]
            assert await conn.fetch(SCHEMA) == expected
        finally:
            await conn.close()


async def test_nodes_starting_together_apply_each_migration_once(empty_database):
    migrations = load_migrations()
    conns = [await connection(empty_database) for _ in range(4)]
    try:
        applied = await asyncio.gather(*(migrate(c, migrations) for c in conns))
        assert sorted(m.version for batch in applied for m in batch) == \
            [m.version for m in migrations]
        rows = await conns[0].fetch("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in rows] == [m.version for m in migrations]
    finally:
        for conn in conns:
            await conn.close()


async def test_a_migration_edited_after_it_ran_is_refused(database):
    migrations = load_migrations()
    edited = [Migration(m.version, m.name, m.sql + "\n-- edited") for m in migrations]
    conn = await connection(database)
    try:
        with pytest.raises(MigrationError, match="cambió después de aplicarse"):
            await migrate(conn, edited)
    finally:
        await conn.close()


async def test_a_database_newer_than_the_code_is_refused(database):
    migrations = load_migrations()
    conn = await connection(database)
    try:
        await conn.execute("INSERT INTO schema_migrations (version, name, checksum) "
                           "VALUES (999, 'from_the_future', 'x')")
        with pytest.raises(MigrationError, match="actualice el código"):
            await migrate(conn, migrations)
    finally:
        await conn.close()


def test_migration_files_are_numbered_without_gaps(tmp_path):
    (tmp_path / "0001_first.sql").write_text("SELECT 1")
    (tmp_path / "0003_third.sql").write_text("SELECT 1")
    with pytest.raises(MigrationError, match="falta la migración 0002"):
        load_migrations(tmp_path)
    (tmp_path / "4_bad name.sql").write_text("SELECT 1")
    with pytest.raises(MigrationError, match="nombre de migración inválido"):
        load_migrations(tmp_path)


async def run_db_command(env: dict[str, str], action: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "screenpop", "db", action, env=env, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    return proc.returncode, out.decode(), err.decode()


async def test_operator_command_migrates_and_reports(empty_database, tmp_path):
    env = {**os.environ, "DATABASE_URL": empty_database, "SCREENPOP_DEMO_DIR": str(tmp_path)}
    code, out, err = await run_db_command(env, "status")
    assert code == 0, err
    assert "pendiente: 0001_call_records" in out
    code, out, err = await run_db_command(env, "migrate")
    assert code == 0, err
    assert "aplicada 0001_call_records" in out and "DATABASE_URL" in out
    code, out, _ = await run_db_command(env, "migrate")
    assert code == 0 and "ya estaba al día" in out


async def test_operator_command_finds_the_running_demo_database(empty_database, tmp_path):
    (tmp_path / "abc123.env").write_text(
        f"DEMO_PID={os.getpid()}\nREDIS_URL=redis://127.0.0.1:1/0\nDATABASE_URL={empty_database}\n")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    code, out, err = await run_db_command({**env, "SCREENPOP_DEMO_DIR": str(tmp_path)}, "migrate")
    assert code == 0, err
    assert "aplicada 0001_call_records" in out and "demo en marcha" in out


async def test_unreachable_database_says_what_to_do(tmp_path):
    env = {**os.environ, "DATABASE_URL": "postgresql://u:secreto@127.0.0.1:1/x",
           "SCREENPOP_DEMO_DIR": str(tmp_path)}
    code, _, err = await run_db_command(env, "status")
    assert code == 1
    assert "DATABASE_URL" in err and "secreto" not in err


async def test_a_service_brings_an_empty_database_up_to_date_when_it_connects(empty_database):
    pool = await pool_connector(empty_database)()  # what each service's record writer opens
    try:
        async with pool.acquire() as conn:
            versions = [r["version"] for r in await conn.fetch(
                "SELECT version FROM schema_migrations ORDER BY version")]
    finally:
        await pool.close()
    assert versions == [m.version for m in load_migrations()]


async def test_records_written_before_0004_read_as_never_on_hold_and_without_ivr(empty_database):
    migrations = load_migrations()
    conn = await connection(empty_database)
    try:
        await migrate(conn, migrations[:3])
        await conn.execute("INSERT INTO call_records (call_id, hold_seconds) VALUES ('old', 12)")
        assert [m.version for m in await migrate(conn, migrations[:4])] == [4]
        row = await conn.fetchrow("SELECT * FROM call_records WHERE call_id = 'old'")
        assert row["hold_seconds"] == 12 and row["hold_count"] == 0
        assert row["ivr_path"] == "[]" and row["ivr_started_at"] is None
        assert row["lookup_match"] is None
        with pytest.raises(asyncpg.CheckViolationError):  # only argon2 hashes
            await conn.execute("INSERT INTO accounts (username, display_name, password_hash, role)"
                               " VALUES ('ana', 'Ana', 'plain-text', 'agent')")
    finally:
        await conn.close()


async def test_legs_recorded_before_0009_with_nobody_signed_in_get_their_phones_only_account(
        empty_database):
    migrations = load_migrations()
    conn = await connection(empty_database)
    try:
        await migrate(conn, migrations[:8])
        hash_ = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$abc"
        for username, endpoint in (("ana", "PJSIP/6001"), ("beto", "PJSIP/6002"),
                                   ("carla", "PJSIP/6002")):
            await conn.execute("INSERT INTO accounts (username, display_name, password_hash, role)"
                               " VALUES ($1, $1, $2, 'agent')", username, hash_)
            await conn.execute("INSERT INTO account_endpoints VALUES ($1, $2, 0)", username, endpoint)
        await conn.execute("INSERT INTO call_records (call_id) VALUES ('old')")
        await conn.execute("INSERT INTO call_agents (call_id, position, endpoint, answered_at) VALUES"
                           " ('old', 0, 'PJSIP/6001', now()), ('old', 1, 'PJSIP/6002', now()),"
                           " ('old', 2, 'PJSIP/6099', now())")
        assert [m.version for m in await migrate(conn, migrations[:9])] == [9]
        assert [r["username"] for r in await conn.fetch(
            "SELECT username FROM call_agents ORDER BY position")] == ["ana", None, None]
        assert await conn.fetchval("SELECT agent_username FROM call_records") == "ana"
    finally:
        await conn.close()
