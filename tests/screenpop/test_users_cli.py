"""`python -m screenpop users …` as an operator runs it, against the test's Redis prefix."""
from __future__ import annotations

import asyncio
import os
import sys

import asyncpg


async def run_cli(redis_url: str, prefix: str, *args: str, database: str | None = None
                  ) -> tuple[int, str, str]:
    env = {**os.environ, "REDIS_URL": redis_url, "REDIS_PREFIX": prefix}
    if database is not None:
        env["DATABASE_URL"] = database
    env.pop("SCREENPOP_SECRET_KEY", None)  # managing accounts needs no web configuration
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "screenpop", "users", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    return proc.returncode, out.decode(), err.decode()


async def accounts(database: str) -> dict[str, dict]:
    conn = await asyncpg.connect(database, timeout=5)
    try:
        rows = await conn.fetch("SELECT * FROM accounts")
        endpoints = await conn.fetch("SELECT * FROM account_endpoints ORDER BY position")
    finally:
        await conn.close()
    found = {r["username"]: {**dict(r), "endpoints": []} for r in rows}
    for e in endpoints:
        found[e["username"]]["endpoints"].append(e["endpoint"])
    return found


async def test_add_list_remove(redis_url, redis, keys, database, users):
    def cli(*args):
        return run_cli(redis_url, keys.prefix, *args, database=database)

    code, out, err = await cli("add", "ana", "--password", "clave-ana-1", "--role", "agent",
                               "--endpoint", "PJSIP/6001", "--endpoint", "PJSIP/6101",
                               "--name", "Ana Torres")
    assert code == 0, err
    stored = (await accounts(database))["ana"]
    assert stored["password_hash"].startswith("$argon2id$")
    assert "clave-ana-1" not in str(stored)
    assert stored["endpoints"] == ["PJSIP/6001", "PJSIP/6101"] and stored["active"]
    assert stored["display_name"] == "Ana Torres" and stored["role"] == "agent"
    assert await users.verify("ana", "clave-ana-1") is not None
    assert await users.agents_of("PJSIP/6101") == {"ana"}
    assert not await redis.exists(keys.user("ana"))  # nothing of the account in Redis

    code, out, err = await cli("add", "sup", "--password", "clave-sup-1", "--role", "supervisor")
    assert code == 0, err
    code, out, _ = await cli("list")
    assert code == 0
    assert out.splitlines() == ["ana\tagent\tPJSIP/6001,PJSIP/6101\tAna Torres",
                                "sup\tsupervisor\t-\tsup"]

    # Re-adding replaces the endpoints (this process's store hears of it on the bus in a real
    # node; here it is told directly, as the bus would)
    code, _, err = await cli("add", "ana", "--password", "clave-ana-2", "--endpoint", "PJSIP/6002")
    assert code == 0, err
    users.forget()
    assert await users.agents_of("PJSIP/6001") == frozenset()
    assert await users.agents_of("PJSIP/6002") == {"ana"}
    assert await users.verify("ana", "clave-ana-1") is None
    assert await users.verify("ana", "clave-ana-2") is not None

    code, out, err = await cli("disable", "ana")
    assert code == 0 and "cuenta desactivada: ana" in out, err
    users.forget()
    assert await users.verify("ana", "clave-ana-2") is None
    assert await users.get("ana") is None and await users.agents_of("PJSIP/6002") == frozenset()
    code, out, _ = await cli("list")
    assert "ana\tagent\tPJSIP/6002\tana\tdesactivada" in out.splitlines()
    code, out, err = await cli("enable", "ana")
    assert code == 0, err
    users.forget()
    assert await users.verify("ana", "clave-ana-2") is not None

    code, _, err = await cli("remove", "ana")
    assert code == 0, err
    assert "ana" not in await accounts(database)
    users.forget()
    assert await users.agents_of("PJSIP/6002") == frozenset()
    code, _, err = await cli("remove", "ana")
    assert code == 1 and "no existe" in err


async def test_bad_input_is_one_clear_line(redis_url, keys, database):
    code, _, err = await run_cli(redis_url, keys.prefix, "add", "ana", "--password", "x",
                                 database=database)
    assert code == 2 and "contraseña" in err and len(err.strip().splitlines()) == 1
    code, _, err = await run_cli(redis_url, keys.prefix, "add", "ana", "--password", "clave-ana-1",
                                 "--endpoint", "6001", database=database)
    assert code == 2 and "extensión inválida" in err


async def test_unreachable_database_names_it_and_what_to_do(redis_url, keys):
    code, _, err = await run_cli(redis_url, keys.prefix, "list",
                                 database="postgresql://127.0.0.1:1/nada")
    assert code == 1
    assert "postgresql://127.0.0.1:1/nada" in err and "DATABASE_URL" in err


async def test_serve_with_bad_config_exits_2_with_one_line(redis_url, keys):
    env = {**os.environ, "REDIS_URL": redis_url, "SCREENPOP_SECRET_KEY": "short"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "screenpop", "serve", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert err.decode().strip().splitlines() == [
        "screenpop: configuración inválida: SCREENPOP_SECRET_KEY: debe tener al menos 16 caracteres"]
