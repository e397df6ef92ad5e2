"""`python -m screenpop campaigns …` and `dnc …` as an operator runs them, against the test's
Redis prefix (a real index) and its own PostgreSQL database: Spanish messages, exit codes."""
from __future__ import annotations

import asyncio
import os
import sys

import pytest

from screenpop.index import PreinstallationIndex
from tests.campaigns.conftest import INSTALLED, RECORDS


@pytest.fixture
async def cli(redis_url, keys, redis, database, users):
    await PreinstallationIndex(redis, keys).replace_all(RECORDS, source="test",
                                                        installed=INSTALLED)
    for name in ("agente1", "agente2"):
        await users.add(name, "secreto-123", "agent", [], name)

    async def run(*args: str) -> tuple[int, str, str]:
        env = {**os.environ, "REDIS_URL": redis_url, "REDIS_PREFIX": keys.prefix,
               "DATABASE_URL": database}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "screenpop", *args, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        return proc.returncode, out.decode(), err.decode()
    return run


async def test_campaign_lifecycle(cli, pool, redis, keys):
    code, out, err = await cli("campaigns", "create", "--name", "x", "--agent", "agente1",
                               "--zone", "Jalisco", "--count-only")
    assert code == 0, err
    assert out.strip() == "el filtro elige 3 de 5 preinstalaciones pendientes"
    assert await pool.fetchval("SELECT count(*) FROM dialer_campaigns") == 0
    sub = redis.pubsub()
    await sub.subscribe(keys.dialer_control_channel)
    code, out, err = await cli("campaigns", "create", "--name", "Jalisco CLI", "--zone",
                               "jalisco", "--agent", "agente1", "--agent", "agente2",
                               "--mode", "progresivo", "--hours", "sun=10:00-13:00",
                               "--hours", "sat=off", "--retry", "busy=15", "--start")
    assert code == 0, err
    campaign_id = out.split("campaña creada: ")[1].split()[0]
    assert "registros agregados: 2 · ya estaban: 0 · bloqueados por no llamar: 0 · " \
           "teléfonos no válidos: 1" in out
    assert "en marcha" in out
    row = await pool.fetchrow("SELECT state, settings->'windows'->'hours' AS hours, "
                              "settings->'retry_minutes'->>'busy' AS busy FROM "
                              "dialer_campaigns WHERE campaign_id = $1", campaign_id)
    assert row["state"] == "running" and row["busy"] == "15"
    assert '"sun": "10:00-13:00"' in row["hours"] and '"sat"' not in row["hours"]
    announced = []
    async with asyncio.timeout(5):
        while len(announced) < 2:
            message = await sub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message:
                announced.append(message["data"])
    assert announced == [campaign_id, campaign_id]   # created, started
    await sub.aclose()

    code, out, _ = await cli("campaigns", "list")
    assert code == 0 and f"{campaign_id}\trunning\tprogressive\tJalisco CLI\ttotal 2" in out
    assert (await cli("campaigns", "pause", campaign_id))[0] == 0
    code, out, _ = await cli("campaigns", "pause", campaign_id)
    assert code == 0 and "(ya lo estaba)" in out
    code, out, _ = await cli("campaigns", "show", campaign_id)
    assert code == 0 and "estado: En pausa" in out and "pending: 2" in out
    assert (await cli("campaigns", "stop", campaign_id))[0] == 0
    code, _, err = await cli("campaigns", "resume", campaign_id)
    assert code == 4 and "detenida" in err
    code, _, err = await cli("campaigns", "start", "no-such")
    assert code == 3 and "no existe la campaña" in err


async def test_create_refuses_bad_values(cli, pool):
    code, _, err = await cli("campaigns", "create", "--name", "Mala", "--agent", "nadie",
                             "--max-attempts", "0", "--abandon-cap", "40")
    assert code == 2
    assert "Estas cuentas no son asesores: nadie" in err and "entre 1 y 20" in err
    assert "El tope de abandono" in err
    code, _, err = await cli("campaigns", "create", "--name", "x", "--agent", "agente1",
                             "--retry", "siesta=5")
    assert code == 2 and "resultado desconocido" in err
    assert await pool.fetchval("SELECT count(*) FROM dialer_campaigns") == 0


async def test_dnc_commands(cli, pool, tmp_path):
    sheet = tmp_path / "repep.csv"
    sheet.write_text("telefono,nombre\n5511112222,a\nnope,b\n5511112222,c\n", encoding="utf-8")
    code, out, err = await cli("dnc", "import", str(sheet))
    assert code == 0, err
    assert "agregados: 1 · ya estaban: 0 · repetidos en el archivo: 1 · filas con error: 1" in out
    assert "línea 3: 'nope'" in out
    code, out, _ = await cli("dnc", "add", "55 3333 4444", "--note", "pidió")
    assert code == 0 and "+525533334444: agregado" in out
    code, out, _ = await cli("dnc", "list", "--search", "3333")
    assert code == 0 and out.startswith("+525533334444\tmanual\t") and "pidió" in out
    assert (await cli("dnc", "remove", "5533334444"))[0] == 0
    code, _, err = await cli("dnc", "remove", "5533334444")
    assert code == 3 and "no estaba" in err
    code, _, err = await cli("dnc", "add", "12")
    assert code == 2 and "no es un número telefónico válido" in err
    code, _, err = await cli("dnc", "import", str(tmp_path / "missing.csv"))
    assert code == 2 and "no se pudo leer" in err


async def test_unreachable_database_says_so(redis_url, keys):
    env = {**os.environ, "REDIS_URL": redis_url, "REDIS_PREFIX": keys.prefix,
           "DATABASE_URL": "postgresql://127.0.0.1:1/nada"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "screenpop", "campaigns", "list", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1 and "no se pudo usar" in err.decode()
