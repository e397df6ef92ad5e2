"""Dialer benchmark: an assigned agent becomes available → the Originate for them written on the
AMI socket, p50/p99 (target p99 ≤ 20 ms).

    .venv/bin/python scripts/bench_originate.py [--calls N] [--agents N]

It runs `python -m telephony` (the dialer as deployed) against a small fake AMI server in this
process, in a database of its own on DATABASE_URL's server (created, migrated, dropped at the end)
and a Redis prefix of its own on REDIS_URL. Each round: the agent is paused and free; the clock
starts when Redis confirmed the agent's state `available` (written and published by screenpop's
AgentStateStore, as a sign-in or the agent's own choice does); it stops when the Originate's last byte reaches the fake
AMI server. The fake then answers the Originate as a failed agent leg (no call), and the next
round starts once the engine freed the agent. Nothing in it is a test.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import redis.asyncio as aioredis

from common.db.migrations import load_migrations, migrate
from common.db.pool import create_pool
from common.dialer.outcomes import Order
from common.dialer.store import Campaign, DialerStore, Mode, NewLead
from common.keys import Keys
from screenpop import agents
from screenpop.agents import AgentStateStore

ROOT = Path(__file__).resolve().parents[1]
ALWAYS_OPEN = {"hours": {day: "00:00-23:59:59" for day in
                         ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}, "holidays": False}


class FakeAmi:
    """Just enough of Asterisk's AMI for the telephony service: login, ping, CoreShowChannels,
    and Originates, whose arrival times it records."""

    def __init__(self) -> None:
        self.arrivals: asyncio.Queue[tuple[float, dict[str, str], asyncio.StreamWriter]] = \
            asyncio.Queue()
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        try:
            while True:
                block = await reader.readuntil(b"\r\n\r\n")
                arrived = time.monotonic()
                headers = dict(line.split(": ", 1) for line in
                               block.decode("latin-1").strip().split("\r\n") if ": " in line)
                action, action_id = headers.get("Action", "").lower(), headers.get("ActionID", "")
                if action == "login":
                    writer.write(_frame(Response="Success", ActionID=action_id,
                                        Message="Authentication accepted")
                                 + _frame(Event="FullyBooted", Privilege="system,all",
                                          Status="Fully Booted"))
                elif action == "coreshowchannels":
                    writer.write(_frame(Response="Success", ActionID=action_id,
                                        EventList="start", Message="Channels will follow")
                                 + _frame(Event="CoreShowChannelsComplete", ActionID=action_id,
                                          EventList="Complete", ListItems="0"))
                elif action == "originate":
                    writer.write(_frame(Response="Success", ActionID=action_id,
                                        Message="Originate successfully queued"))
                    await self.arrivals.put((arrived, headers, writer))
                else:
                    writer.write(_frame(Response="Success", ActionID=action_id, Ping="Pong"))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


def fail(headers: dict[str, str], writer: asyncio.StreamWriter) -> None:
    """The agent's phone could not be reached (fixtures/ami/dialer/agent-unreachable)."""
    writer.write(_frame(Event="OriginateResponse", Privilege="call,all",
                        ActionID=headers["ActionID"], Response="Failure",
                        Channel=headers["Channel"], Context=headers["Context"],
                        Exten=headers["Exten"], Reason="0", Uniqueid=headers["ChannelId"],
                        Timestamp=f"{time.time():.6f}"))


def _frame(**headers: str) -> bytes:
    return ("".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode()


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def main(calls: int, agent_count: int) -> None:
    database_url = os.environ.get("DATABASE_URL", "postgresql://127.0.0.1:5432/test")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    base, _, _ = database_url.rpartition("/")
    name = f"bench_originate_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(database_url, timeout=5)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{base}/{name}"
    keys = Keys(prefix=f"bench-originate-{uuid.uuid4().hex[:8]}")
    redis = aioredis.from_url(redis_url, decode_responses=True)
    process = None
    try:
        conn = await asyncpg.connect(url, timeout=5)
        await migrate(conn, load_migrations())
        await conn.close()
        pool = await create_pool(url, min_size=1, max_size=4)
        store = DialerStore(pool, default_zone="America/Mexico_City")
        usernames = [f"agente{i}" for i in range(agent_count)]
        await store.create_campaign(Campaign("bench", "Campaña bench", Mode.PROGRESSIVE,
                                             Order.AGENT_FIRST, 5, {"windows": ALWAYS_OPEN},
                                             '"Bench" <5550001000>', None, tuple(usernames)))
        await store.add_leads("bench", [NewLead(f"p{i}", f"55{i:08d}")
                                        for i in range(calls + 10)], datetime.now(UTC))
        await pool.execute("UPDATE dialer_campaigns SET state = 'running'")
        states = AgentStateStore(redis, keys)
        for i, username in enumerate(usernames):
            await states.update(username, lambda s, i=i: agents.signed_in(
                s, time.time(), f"PJSIP/{6001 + i}").moved("paused", time.time(), reason="Comida"))
        ami = FakeAmi()
        port = await ami.start()
        env = {**os.environ, "AMI_PORT": str(port), "REDIS_URL": redis_url,
               "REDIS_PREFIX": keys.prefix, "DATABASE_URL": url, "TELEPHONY_NODE": "bench",
               "TELEPHONY_STATUS_PORT": "0", "AGI_PORT": "0", "LOG_LEVEL": "WARNING",
               "AGENT_ENDPOINT_PATTERNS": "PJSIP/*",
               "DIALER_REJECTED_PAUSE_SECONDS": "0"}  # the fake fails every agent leg
        process = await asyncio.create_subprocess_exec(sys.executable, "-m", "telephony",
                                                       cwd=ROOT, env=env)
        await asyncio.sleep(3.0)  # login, migrations, first campaign refresh
        samples: list[float] = []
        for round_no in range(calls):
            username = usernames[round_no % agent_count]
            await states.update(username, lambda s: s.moved("available", time.time()))
            started = time.monotonic()  # the state and its publication are in Redis now
            arrived, headers, writer = await asyncio.wait_for(ami.arrivals.get(), 10)
            samples.append(arrived - started)
            await states.update(username, lambda s: s.moved("paused", time.time(),
                                                            reason="Comida"))
            fail(headers, writer)
            await writer.drain()
            while await redis.exists(keys.dialer_agent_reservation(username)):
                await asyncio.sleep(0.001)
        ms = [s * 1000 for s in samples]
        print(f"agent available → Originate written, {len(ms)} rounds, {agent_count} agents:")
        print(f"  p50 {statistics.median(ms):.2f} ms  p90 {percentile(ms, 0.9):.2f} ms  "
              f"p99 {percentile(ms, 0.99):.2f} ms  max {max(ms):.2f} ms  (target p99 ≤ 20 ms)")
        await pool.close()
    finally:
        if process is not None and process.returncode is None:
            process.terminate()
            await process.wait()
        async for key in redis.scan_iter(match=f"{keys.prefix}:*", count=1000):
            await redis.delete(key)
        await redis.aclose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--agents", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.agents))
