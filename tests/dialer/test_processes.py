"""The dialer as it is deployed: `python -m telephony` processes with DATABASE_URL, against the
simulator over TCP. Two engines never dial one number twice at once nor give one agent two
calls; an engine killed with SIGKILL mid-campaign and replaced neither loses nor repeats a record;
the call record of a dialer call carries its campaign and the attempt's outcome; /status and
/metrics show the dialer."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.dialer.conftest import (
    AGENTS,
    SECRET,
    USERNAME,
    eventually,
    new_campaign,
    number,
    set_agent,
)
from tests.listener.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def engines(sim, redis_url, keys, database):
    """Starts `python -m telephony` processes with the dialer on; killed after the test."""
    started: list[asyncio.subprocess.Process] = []

    async def start(worker: str, **more_env: str) -> tuple[asyncio.subprocess.Process, int]:
        port = free_port()
        env = {**os.environ, "AMI_HOST": "127.0.0.1", "AMI_PORT": str(sim.port),
               "AMI_USERNAME": USERNAME, "AMI_SECRET": SECRET, "REDIS_URL": redis_url,
               "REDIS_PREFIX": keys.prefix, "DATABASE_URL": database,
               "TELEPHONY_NODE": worker, "DIALER_WORKER": worker,
               "TELEPHONY_STATUS_PORT": str(port), "AGI_PORT": str(free_port()),
               "AGENT_ENDPOINT_PATTERNS": "PJSIP/*", "DIALER_LEASE_SECONDS": "2",
               "DIALER_REFRESH_SECONDS": "0.3", "DIALER_RECLAIM_SECONDS": "0.5",
               "DIALER_RECLAIM_RETRY_SECONDS": "0", "LOG_LEVEL": "WARNING", **more_env}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "telephony", cwd=ROOT, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        started.append(process)

        async def ready():
            assert process.returncode is None, "telephony exited early"
            status = await http_json(port, "/status")
            return status is not None and status.get("dialer", {}).get("running") \
                and status["dialer"]["ami_ready"]

        await eventually(ready, timeout=30)
        return process, port

    yield start
    for process in started:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def http_json(port: int, path: str):
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            async with http.get(f"http://127.0.0.1:{port}{path}") as response:
                return await response.json() if path == "/status" else await response.text()
    except (aiohttp.ClientError, TimeoutError):
        return None


async def test_call_records_off_leave_the_dialer_on(engines):
    """CALL_RECORDS=off (the records benchmark's baseline) stops the record writing only."""
    _, port = await engines("engine-a", CALL_RECORDS="off")  # ready: its dialer runs
    metrics = await http_json(port, "/metrics")
    assert "telephony_dialer_in_flight" in metrics and "telephony_records_" not in metrics

    _, port = await engines("engine-b")
    assert "telephony_records_queued" in await http_json(port, "/metrics")


def real_time(sim, talk: float = 0.3) -> None:
    sim.default_speed = 1.0
    settings = sim.dialer.settings
    settings.ring_seconds = settings.agent_ring_seconds = 0.05
    settings.talk_seconds = talk
    settings.dial_timeout_seconds = 0.2  # the dialplan's Dial(…,30) to a customer who never answers


async def no_overlap(pool, column: str) -> None:
    rows = await pool.fetch(f"SELECT {column} AS k, started_at, ended_at FROM dialer_attempts "
                            f"WHERE {column} IS NOT NULL ORDER BY {column}, started_at")
    for before, after in zip(rows, rows[1:]):
        if before["k"] == after["k"]:
            assert before["ended_at"] <= after["started_at"], (column, before, after)


async def test_two_engines_never_overlap_a_number_or_an_agent(
        engines, sim, dialer_store, dialer_pool, redis, keys):
    real_time(sim, talk=0.1)
    for n in range(15):
        sim.dialer.picker.set_rule(f"52{number(n)}", "no_answer")
    # the same 15 numbers in two campaigns, with the same three agents
    for campaign_id in ("c1", "c2"):
        await new_campaign(dialer_store, dialer_pool, campaign_id, leads=15,
                           retry_minutes={"no_answer": 0})
    await engines("engine-a")
    for username in AGENTS:
        await set_agent(redis, keys, username)

    async def dialled_by_a():
        return await dialer_pool.fetchval(
            "SELECT count(*) FROM dialer_attempts WHERE claimed_by = 'engine-a'") > 0

    # the second engine joins once the first is dialling: from then on both race for every
    # agent who becomes available and every due number (whichever reacts first wins each)
    await eventually(dialled_by_a, timeout=60)
    await engines("engine-b")

    async def over():
        return await dialer_pool.fetchval(
            "SELECT count(*) FROM dialer_leads WHERE state <> 'exhausted'") == 0

    await eventually(over, timeout=120)
    assert await dialer_pool.fetchval("SELECT count(*) FROM dialer_attempts "
                                      "WHERE outcome = 'no_answer'") == 90
    await no_overlap(dialer_pool, "phone")
    await no_overlap(dialer_pool, "agent")
    workers = {row["claimed_by"] for row in await dialer_pool.fetch(
        "SELECT DISTINCT claimed_by FROM dialer_attempts")}
    assert workers == {"engine-a", "engine-b"}  # both raced for the same agents and numbers


async def test_an_engine_killed_mid_campaign_is_replaced_without_losing_or_repeating(
        engines, sim, dialer_store, dialer_pool, redis, keys):
    real_time(sim, talk=0.4)
    await new_campaign(dialer_store, dialer_pool, leads=24)
    for username in AGENTS:
        await set_agent(redis, keys, username)
    first, _ = await engines("engine-a")

    async def some_done_and_some_dialing():
        row = await dialer_pool.fetchrow(
            "SELECT count(*) FILTER (WHERE state = 'dialing') AS dialing, "
            "count(*) FILTER (WHERE last_outcome = 'connected') AS done FROM dialer_leads")
        return row["done"] >= 5 and row["dialing"] >= 1

    await eventually(some_done_and_some_dialing, timeout=60)
    first.send_signal(signal.SIGKILL)
    await first.wait()
    rows = await dialer_pool.fetch("SELECT lead_id, state FROM dialer_leads")
    cut_off = {row["lead_id"] for row in rows if row["state"] == "dialing"}
    done_before = {row["lead_id"] for row in await dialer_pool.fetch(
        "SELECT lead_id FROM dialer_attempts WHERE outcome = 'connected'")}
    assert cut_off and done_before

    _, port = await engines("engine-b")

    async def all_connected():
        return await dialer_pool.fetchval(
            "SELECT count(*) FROM dialer_leads WHERE last_outcome IS DISTINCT FROM 'connected' "
            "OR state = 'dialing'") == 0

    await eventually(all_connected, timeout=90)
    attempts = await dialer_pool.fetch("SELECT lead_id, outcome, claimed_by FROM dialer_attempts "
                                       "ORDER BY started_at")
    per_lead: dict[int, list[str]] = {}
    for row in attempts:
        per_lead.setdefault(row["lead_id"], []).append(row["outcome"])
    assert len(per_lead) == 24  # none lost
    for lead_id, outcomes in per_lead.items():
        if lead_id in cut_off:  # in flight when the engine died: recorded interrupted, once
            assert outcomes == ["interrupted", "connected"], (lead_id, outcomes)
        else:  # never dialled again after its conversation was recorded
            assert outcomes == ["connected"], (lead_id, outcomes)
    assert all(row["claimed_by"] == "engine-a" for row in attempts
               if row["lead_id"] in done_before)

    # the replacement's /status and /metrics show the dialer; the call records carry it
    status = await http_json(port, "/status")
    assert status["dialer"]["worker"] == "engine-b" and status["dialer"]["campaigns"] == ["c1"]
    metrics = await http_json(port, "/metrics")
    assert 'telephony_dialer_attempts_total{outcome="connected"}' in metrics
    assert "telephony_dialer_originate_latency_seconds_bucket" in metrics

    async def recorded():
        return await dialer_pool.fetchval(
            "SELECT count(*) FROM call_records r JOIN call_events e USING (call_id) "
            "JOIN dialer_attempts a ON a.call_id = r.call_id "
            "WHERE r.campaign_id = 'c1' AND e.kind = 'dialer_attempt' "
            "AND e.detail->>'outcome' = a.outcome AND a.claimed_by = 'engine-b'")

    await eventually(recorded, timeout=20)
