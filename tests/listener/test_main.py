"""`python -m telephony` as a real process: configuration errors, and shutdown from SIGTERM."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import aiohttp

from tests.listener.conftest import SECRET, USERNAME
from tests.listener.helpers import eventually, free_port

ROOT = Path(__file__).resolve().parents[2]


async def run_telephony(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "telephony", cwd=ROOT, env={**os.environ, **env},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)


async def test_bad_configuration_prints_one_line_and_exits_2():
    process = await run_telephony({"AMI_PORT": "cinco"})
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "AMI_PORT" in lines[0] and "configuración inválida" in lines[0]


async def status_code(port: int) -> int | None:
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            async with http.get(f"http://127.0.0.1:{port}/status") as response:
                return response.status
    except aiohttp.ClientConnectionError:
        return None


async def test_runs_until_sigterm_then_logs_off_and_leaves_a_last_heartbeat(sim, redis, redis_url, keys):
    port = free_port()
    process = await run_telephony({
        "AMI_HOST": "127.0.0.1", "AMI_PORT": str(sim.port), "AMI_USERNAME": USERNAME,
        "AMI_SECRET": SECRET, "REDIS_URL": redis_url, "REDIS_PREFIX": keys.prefix,
        "TELEPHONY_NODE": "node-main", "TELEPHONY_STATUS_PORT": str(port)})
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while await status_code(port) != 200:
            assert loop.time() < deadline, "telephony never reported 200 on /status"
            assert process.returncode is None, "telephony exited early"
            await asyncio.sleep(0.05)
        assert sim.sessions_count == 1

        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 20)
        assert process.returncode == 0, stderr.decode()[-2000:]
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    await eventually(lambda: sim.sessions_count == 0, "the AMI session closed by Logoff")
    heartbeat = json.loads(await redis.get(keys.telephony_heartbeat("node-main")))
    assert heartbeat["ami"] == "disconnected"
    assert await status_code(port) is None
