"""`python -m screenpop users …` as an operator runs it, against the test's Redis prefix."""
from __future__ import annotations

import asyncio
import os
import sys

from screenpop.users import UserStore


async def run_cli(redis_url: str, prefix: str, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "REDIS_URL": redis_url, "REDIS_PREFIX": prefix}
    env.pop("SCREENPOP_SECRET_KEY", None)  # managing accounts needs no web configuration
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "screenpop", "users", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    return proc.returncode, out.decode(), err.decode()


async def test_add_list_remove(redis_url, redis, keys):
    code, out, err = await run_cli(redis_url, keys.prefix, "add", "ana", "--password", "clave-ana-1",
                                   "--role", "agent", "--endpoint", "PJSIP/6001",
                                   "--endpoint", "PJSIP/6101", "--name", "Ana Torres")
    assert code == 0, err
    stored = await redis.hgetall(keys.user("ana"))
    assert stored["password_hash"].startswith("$argon2id$")
    assert "clave-ana-1" not in "".join(stored.values())
    assert await redis.smembers(keys.endpoint_agents("PJSIP/6101")) == {"ana"}
    assert await UserStore(redis, keys).verify("ana", "clave-ana-1") is not None

    code, out, err = await run_cli(redis_url, keys.prefix, "add", "sup", "--password", "clave-sup-1",
                                   "--role", "supervisor")
    assert code == 0, err
    code, out, _ = await run_cli(redis_url, keys.prefix, "list")
    assert code == 0
    assert out.splitlines() == ["ana\tagent\tPJSIP/6001,PJSIP/6101\tAna Torres",
                                "sup\tsupervisor\t-\tsup"]

    # Re-adding replaces the endpoints.
    code, _, err = await run_cli(redis_url, keys.prefix, "add", "ana", "--password", "clave-ana-2",
                                 "--endpoint", "PJSIP/6002")
    assert code == 0, err
    assert await redis.smembers(keys.endpoint_agents("PJSIP/6001")) == set()
    assert await redis.smembers(keys.endpoint_agents("PJSIP/6002")) == {"ana"}

    code, _, err = await run_cli(redis_url, keys.prefix, "remove", "ana")
    assert code == 0, err
    assert not await redis.exists(keys.user("ana"))
    assert await redis.smembers(keys.endpoint_agents("PJSIP/6002")) == set()
    code, _, err = await run_cli(redis_url, keys.prefix, "remove", "ana")
    assert code == 1 and "no existe" in err


async def test_bad_input_is_one_clear_line(redis_url, keys):
    code, _, err = await run_cli(redis_url, keys.prefix, "add", "ana", "--password", "x")
    assert code == 2 and "contraseña" in err and len(err.strip().splitlines()) == 1
    code, _, err = await run_cli(redis_url, keys.prefix, "add", "ana", "--password", "clave-ana-1",
                                 "--endpoint", "6001")
    assert code == 2 and "extensión inválida" in err


async def test_serve_with_bad_config_exits_2_with_one_line(redis_url, keys):
    env = {**os.environ, "REDIS_URL": redis_url, "SCREENPOP_SECRET_KEY": "short"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "screenpop", "serve", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert err.decode().strip().splitlines() == [
        "screenpop: configuración inválida: SCREENPOP_SECRET_KEY: debe tener al menos 16 caracteres"]
