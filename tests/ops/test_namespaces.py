"""The README's commands on a machine where the product (or another demo) already runs: nothing
outside their own namespace is touched, and the operator commands find the running demo."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from common.demo_env import parse_demo_file
from common.keys import Keys

ROOT = Path(__file__).resolve().parents[2]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of an operator who has not set where Redis and PostgreSQL are."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "REDIS_PREFIX", "DATABASE_URL")}
    return {**env, **extra}


async def run_users(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "screenpop", "users", *args, env=env, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    return proc.returncode, out.decode(), err.decode()


async def account_names(database: str) -> list[str]:
    conn = await asyncpg.connect(database, timeout=5)
    try:
        return [r["username"] for r in await conn.fetch("SELECT username FROM accounts")]
    finally:
        await conn.close()


async def dead_pid() -> int:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await proc.wait()
    return proc.pid


async def test_users_command_finds_the_running_demo_and_says_so(tmp_path, redis, redis_url, keys,
                                                                database):
    (tmp_path / "abc123.env").write_text(
        f"DEMO_PID={os.getpid()}\nREDIS_URL={redis_url}\nREDIS_PREFIX={keys.prefix}\n"
        f"DATABASE_URL={database}\n")
    (tmp_path / "old999.env").write_text(
        f"DEMO_PID={await dead_pid()}\nREDIS_URL=redis://127.0.0.1:1/0\nREDIS_PREFIX=stale\n")
    code, out, err = await run_users(clean_env(SCREENPOP_DEMO_DIR=str(tmp_path)), "add", "ana",
                                     "--password", "clave-ana-1", "--endpoint", "PJSIP/6001")
    assert code == 0, err
    assert "cuenta guardada: ana" in out
    assert redis_url in err and keys.prefix in err and "demo en marcha" in err
    assert await account_names(database) == ["ana"]


async def test_users_command_prefers_what_the_environment_says(tmp_path, redis, redis_url, keys,
                                                               database):
    (tmp_path / "abc123.env").write_text(
        f"DEMO_PID={os.getpid()}\nREDIS_URL=redis://127.0.0.1:1/0\nREDIS_PREFIX=elsewhere\n")
    env = clean_env(SCREENPOP_DEMO_DIR=str(tmp_path), REDIS_URL=redis_url,
                    REDIS_PREFIX=keys.prefix, DATABASE_URL=database)
    code, _, err = await run_users(env, "add", "beto", "--password", "clave-beto-1")
    assert code == 0, err
    assert "REDIS_URL" in err and keys.prefix in err and "de DATABASE_URL" in err
    assert await account_names(database) == ["beto"]


async def test_unreachable_redis_names_the_server_and_what_to_do(tmp_path):
    env = clean_env(SCREENPOP_DEMO_DIR=str(tmp_path), REDIS_URL="redis://127.0.0.1:1/0")
    code, _, err = await run_users(env, "list")
    assert code == 1
    assert "redis://127.0.0.1:1/0" in err and "scripts/demo.sh" in err


async def start_demo(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        "bash", str(ROOT / "scripts" / "demo.sh"), env=env, cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        start_new_session=True)


async def wait_for_files(folder: Path, count: int, procs) -> list[dict[str, str]]:
    async with asyncio.timeout(150):
        while len(list(folder.glob("*.env"))) < count:
            for proc in procs:
                if proc.returncode is not None:
                    _, err = await proc.communicate()
                    pytest.fail(f"demo.sh stopped: {err.decode()[-2000:]}")
            await asyncio.sleep(0.2)
    return [parse_demo_file(p.read_text()) for p in sorted(folder.glob("*.env"))]


async def stop_demo(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()


async def database_names(url: str) -> set[str]:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        return {r["datname"] for r in await conn.fetch("SELECT datname FROM pg_database")}
    finally:
        await conn.close()


@pytest.mark.timeout(240)
async def test_two_demos_next_to_a_deployment_leave_it_alone(tmp_path, redis, redis_url,
                                                            empty_database):
    deployment = Keys("sp")
    planted = f"{deployment.user('zz-deployed-agent')}-{os.getpid()}"
    await redis.set(planted, "a real account", ex=600)
    had_demo_account = await redis.exists(deployment.user("agente1"))
    env = clean_env(SCREENPOP_DEMO_DIR=str(tmp_path), REDIS_URL=redis_url,
                    DATABASE_URL=empty_database, WISPHUB_SYNC_INTERVAL="3600")
    first = await start_demo(env)
    second = None
    try:
        [one] = await wait_for_files(tmp_path, 1, [first])
        second = await start_demo(env)
        demos = await wait_for_files(tmp_path, 2, [first, second])
        other = next(d for d in demos if d["DEMO_PID"] != one["DEMO_PID"])
        assert one["REDIS_PREFIX"] != other["REDIS_PREFIX"]
        assert not {one["REDIS_PREFIX"], other["REDIS_PREFIX"]} & {"sp", ""}
        assert one["SCREENPOP_URL"] != other["SCREENPOP_URL"]
        assert one["DATABASE_URL"] != other["DATABASE_URL"] != empty_database
        for demo in (one, other):
            conn = await asyncpg.connect(demo["DATABASE_URL"], timeout=5)
            try:
                assert await conn.fetchval("SELECT count(*) FROM schema_migrations") >= 1
            finally:
                await conn.close()
        async with aiohttp.ClientSession() as http:
            for demo in (one, other):
                async with http.get(demo["SCREENPOP_URL"] + "status") as response:
                    assert response.status == 200
                assert "agente1" in await account_names(demo["DATABASE_URL"])
        code, out, err = await run_users(clean_env(SCREENPOP_DEMO_DIR=str(tmp_path)), "list")
        assert code == 0 and "agente1" in out and "más reciente" in err
    finally:
        for proc in (second, first):
            if proc is not None:
                await stop_demo(proc)
    assert await redis.get(planted) == "a real account"
    assert await redis.exists(deployment.user("agente1")) == had_demo_account
    for demo in (one, other):
        assert not [k async for k in redis.scan_iter(match=f"{demo['REDIS_PREFIX']}:*")]
    assert not list(tmp_path.glob("*.env"))
    demo_databases = {d["DATABASE_URL"].rsplit("/", 1)[1] for d in (one, other)}
    assert not demo_databases & await database_names(empty_database)
    assert empty_database.rsplit("/", 1)[1] in await database_names(empty_database)
    await redis.delete(planted)
