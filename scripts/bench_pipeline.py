"""Benchmark of the whole pop path and of the AMI read side. Prints figures; asserts nothing.

  1. AMI events/s on one core: recorded-trace calls (mostly VarSet/Newexten/DeviceStateChange
     noise, as on a real PBX) blasted by the simulator into (a) our listener + call tracker and
     (b) a bare panoramisk read loop, each in its own process.
  2. Pop latency: simulator → telephony → Redis → screenpop → WebSocket clients, with N agents
     connected and new calls at a fixed rate. Latency runs from the simulator writing the
     DialBegin that rings the agent to the agent's client receiving the pop. Pops lost and pops
     delivered to a wrong agent are counted.
  3. Memory: RSS of telephony and screenpop after 10 % of --memory-calls and after all of them.
  4. With --records: the pop latency run twice on a fresh database on DATABASE_URL's server (the
     accounts live there in both runs), without call records (CALL_RECORDS=off) and with both
     processes writing them, alternating --rounds times, side by side (p50/p99 over the pops of
     all rounds of each kind, and their change), and the record ingest
     rate (complete call records per second) sampled while the pops ran, then how long the
     last records took to land. --database-nice N runs the database's backends for the
     benchmark's database at that CPU niceness, and --database-idle at SCHED_IDLE (root, or a
     server of this user's), as if PostgreSQL had a host of its own: what is left is the
     services' own record work. --benchmark-nice N runs the benchmark's own process (the
     simulated PBX and the agents' clients) at niceness N and the services as they were.
     --stand-in adds a third kind of round, after each pair: records off, and beside the
     services a SCHED_IDLE process that burns, in bursts every 0.5 s, the CPU per call the
     record workers and PostgreSQL spent in the last round with records. It tells what the
     record writing's CPU on these cores costs the pops by itself (against the round without)
     from what the services' own record code costs (the round with records against it).

Run through scripts/bench.sh (it sets up the virtualenv, Redis and PostgreSQL).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import aiohttp
import asyncpg
import redis.asyncio as aioredis
from argon2 import PasswordHasher

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.db.migrations import load_migrations, migrate  # noqa: E402
from common.db.pool import LazyPool  # noqa: E402
from common.keys import Keys  # noqa: E402
from common.process import freeze_startup_heap  # noqa: E402
from common.records import facts  # noqa: E402
from common.records.writer import RecordWriter, pool_connector  # noqa: E402
from screenpop.users import UserStore  # noqa: E402
from screenpop.web.sessions import COOKIE, SessionStore  # noqa: E402
from telephony.simulator.server import PbxSimulator  # noqa: E402

SECRET = "bench-secret"


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def processes() -> Iterator[tuple[int, int, str]]:
    """(pid, parent pid, command name) of every process on this machine."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            name, rest = stat.split("(", 1)[1].rsplit(")", 1)
            yield int(entry.name), int(rest.split()[1]), name


def postgres_cpu_seconds() -> float:
    """CPU of every PostgreSQL process on this machine (backends, WAL writer, checkpointer…)."""
    return sum(cpu_seconds(pid) for pid, _, name in processes()
               if name in ("postgres", "postmaster"))


def children_cpu_seconds(parents: Mapping[int, str]) -> dict[str, float]:
    """CPU of the processes the services started (their call-record writers), by service."""
    totals = {f"{name} records": 0.0 for name in parents.values()}
    for pid, parent, _ in processes():
        if parent in parents:
            totals[f"{parents[parent]} records"] += cpu_seconds(pid)
    return totals


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores (/proc/stat)."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    hz = os.sysconf("SC_CLK_TCK")
    return (sum(ticks) - idle) / hz, sum(ticks) / hz


def cpu_snapshot(stack: Stack) -> dict[str, float]:
    """CPU seconds by process. A writer worker that died and was replaced during a round would
    take its CPU with it: the round's figure for it would be low (its restarts are logged)."""
    services = {proc.pid: name for name, proc in stack.procs.items()
                if name in ("telephony", "screenpop")}
    return {**{name: cpu_seconds(proc.pid) for name, proc in stack.procs.items()},
            **children_cpu_seconds(services),
            "postgres": postgres_cpu_seconds(), "benchmark": cpu_seconds(os.getpid())}


# --- 1. events/s ----------------------------------------------------------------------------

def consume(kind: str, port: int, expected: int, result: multiprocessing.Queue) -> None:
    os.sched_setaffinity(0, {0})
    result.put(asyncio.run(_consume(kind, port, expected)))


async def _consume(kind: str, port: int, expected: int) -> dict:
    done = asyncio.Event()
    first: list[float] = []
    count = 0
    later = None  # the call recorder's pending work, with kind "records"

    def seen() -> None:
        nonlocal count
        count += 1
        if count == 1:
            first.append(time.perf_counter())
        if count >= expected:
            done.set()

    if kind == "panoramisk":
        from panoramisk import Manager
        manager = Manager(host="127.0.0.1", port=port, username="screenpop", secret=SECRET,
                          ping_delay=3600, events="on")
        manager.register_event("*", lambda mgr, msg: seen())
        await manager.connect()
        stop = manager.close
    else:
        from telephony.ami.listener import AmiListener, Resync
        from telephony.channels import EndpointMatcher
        from telephony.config import TelephonyConfig
        from telephony.service import TrackerFeed
        from telephony.tracker import CallTracker

        class Unpublished:  # the service's path without Redis: updates are made, then dropped
            def submit(self, update) -> None:
                pass

        matcher = EndpointMatcher(TelephonyConfig().agent_endpoint_patterns)
        tracker = CallTracker(matcher)
        if kind == "records":  # the recorder too, its facts built and then dropped
            from telephony.records import (
                CallRecorder,
                Later,
                RecordingFeed,
                RecordingPublisher,
                inline_recorder,
            )
            observe = inline_recorder(
                CallRecorder(lambda fact: None, matcher, node="bench", tz_name="UTC"), Later())
            feed = RecordingFeed(TrackerFeed(tracker, RecordingPublisher(Unpublished(), observe)),
                                 observe, tracker.live_call_ids, time.time)
        else:
            feed = TrackerFeed(tracker, Unpublished())

        class Counted:
            @staticmethod
            def put_nowait(item) -> None:
                feed.put_nowait(item)
                if not isinstance(item, Resync):
                    seen()

        listener = AmiListener(TelephonyConfig(ami_port=port, ami_secret=SECRET, ami_events="on"),
                               Counted())
        listener.start()

        def stop() -> None:
            pass

    await asyncio.wait_for(done.wait(), 600)
    while later is not None and later.pending:
        await asyncio.sleep(0.001)
    elapsed = time.perf_counter() - first[0]
    result = {"events": count, "seconds": elapsed, "rate": count / elapsed}
    stop()
    if kind != "panoramisk":
        await listener.stop()
    return result


async def bench_events(calls: int) -> dict[str, dict]:
    """The consumer is pinned to core 0 and the simulator to core 1."""
    os.sched_setaffinity(0, {1})
    results = {}
    for kind in ("panoramisk", "ours", "records"):
        # the whole burst is queued at once: let the simulator buffer it rather than drop the
        # reader as Asterisk would
        sim = PbxSimulator(secret=SECRET, default_speed=0.0, max_write_buffer=1 << 30)
        await sim.start()
        probe_before = sim.logins
        out: multiprocessing.Queue = multiprocessing.Queue()
        expected = await _count_events(sim, calls)
        proc = multiprocessing.Process(target=consume, args=(kind, sim.port, expected, out))
        proc.start()
        while sim.logins == probe_before:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # let the listener's resync settle before the burst
        for i in range(calls):
            await sim.start_call("inbound_queue", customer=f"55{10000000 + i:08d}",
                                 agents=["PJSIP/6001", "PJSIP/6002"], strategy="ringall",
                                 answered_by="PJSIP/6001", speed=0.0)
            if i % 50 == 49:
                await asyncio.sleep(0)
        results[kind] = await asyncio.get_running_loop().run_in_executor(None, out.get)
        proc.join()
        await sim.stop()
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    return results


async def _count_events(sim: PbxSimulator, calls: int) -> int:
    """Events one call of the scenario writes, times calls (every event of a trace counts,
    including the noise)."""
    counter = PbxSimulator(secret=SECRET, default_speed=0.0)
    await counter.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", counter.port)
    await reader.readline()
    writer.write(f"Action: Login\r\nUsername: screenpop\r\nSecret: {SECRET}\r\n\r\n".encode())
    await reader.readuntil(b"\r\n\r\n")
    call = await counter.start_call("inbound_queue", customer="5512345678",
                                    agents=["PJSIP/6001", "PJSIP/6002"], strategy="ringall",
                                    answered_by="PJSIP/6001", speed=0.0)
    await call.wait_done()
    await counter.hangup(call.call_id)
    events = 0
    while True:
        try:
            block = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 0.5)
        except TimeoutError:
            break
        if block.startswith(b"Event:") and b"Event: FullyBooted" not in block:
            events += 1
    writer.close()
    await counter.stop()
    return events * calls


# --- 2 and 3. the whole path ------------------------------------------------------------------

class TimedSimulator(PbxSimulator):
    """Records when the DialBegin that rings each call's agent is written."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rang_at: dict[str, float] = {}

    def _emit(self, call, batch) -> None:
        super()._emit(call, batch)
        if call.call_id not in self.rang_at and any(
                b"Event: DialBegin\r\n" in data for _, data in batch):
            self.rang_at[call.call_id] = time.time()


class Stack:
    """Redis prefix, accounts, telephony and screenpop processes, simulator, agent clients."""

    def __init__(self, redis_url: str, agents: int, database_url: str, *,
                 records: bool = True,
                 before_service: Callable[[], None] | None = None) -> None:
        """`before_service` runs in each service's process before it starts (a niceness)."""
        self.redis_url = redis_url
        self.before_service = before_service
        self.database_url = database_url
        self.records = records
        self.keys = Keys(prefix=f"bench-{uuid.uuid4().hex[:8]}")
        self.endpoints = [f"PJSIP/{7000 + i}" for i in range(agents)]
        self.procs: dict[str, subprocess.Popen] = {}
        self.received: list[tuple[str, str, dict, float]] = []  # (username, endpoint, pop, at)
        self.connected = 0

    async def start(self) -> None:
        self.redis = aioredis.from_url(self.redis_url, decode_responses=True)
        accounts = LazyPool(self.database_url, max_size=2)
        users = UserStore(accounts, self.redis, self.keys,
                          PasswordHasher(time_cost=1, memory_cost=1024))
        sessions = SessionStore(self.redis, self.keys, 3600)
        self.cookies = {}
        for i, endpoint in enumerate(self.endpoints):
            username = f"bench{i}"
            await users.add(username, "bench-password", "agent", [endpoint])
            self.cookies[username] = (endpoint, (await sessions.create(username)).id)
        await accounts.close()
        self.sim = TimedSimulator(secret=SECRET, default_speed=1.0)
        await self.sim.start()
        self.web_port = free_port()
        env = {**os.environ, "REDIS_URL": self.redis_url, "REDIS_PREFIX": self.keys.prefix,
               "AMI_PORT": str(self.sim.port), "AMI_SECRET": SECRET,
               "TELEPHONY_STATUS_PORT": str(free_port()), "SCREENPOP_PORT": str(self.web_port),
               "SCREENPOP_SECRET_KEY": "bench-secret-key-0123456789",
               "WISPHUB_URL": "http://127.0.0.1:9/api/", "WISPHUB_PANEL_URL": "http://127.0.0.1:9/",
               "WISPHUB_SYNC_INTERVAL": "3600", "PYTHONUNBUFFERED": "1"}
        env["DATABASE_URL"] = self.database_url
        env["CALL_RECORDS"] = "on" if self.records else "off"
        log = open(os.devnull, "w")
        self.procs["telephony"] = subprocess.Popen([sys.executable, "-m", "telephony"], env=env,
                                                   cwd=ROOT, stdout=log, stderr=log,
                                                   preexec_fn=self.before_service)
        self.procs["screenpop"] = subprocess.Popen([sys.executable, "-m", "screenpop", "serve"],
                                                   env=env, cwd=ROOT, stdout=log, stderr=log,
                                                   preexec_fn=self.before_service)
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        await self._wait_http(f"http://127.0.0.1:{self.web_port}/status")
        self.client_tasks = [asyncio.create_task(self._client(u, ep, sid))
                             for u, (ep, sid) in self.cookies.items()]
        while self.connected < len(self.endpoints):
            await asyncio.sleep(0.1)

    async def _wait_http(self, url: str) -> None:
        for _ in range(300):
            try:
                async with self.http.get(url) as response:
                    await response.read()
                    return
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
        raise SystemExit(f"{url} did not answer")

    async def _client(self, username: str, endpoint: str, session_id: str) -> None:
        origin = f"http://127.0.0.1:{self.web_port}"
        async with self.http.ws_connect(f"{origin}/ws", headers={
                "Origin": origin, "Cookie": f"{COOKIE}={session_id}"}, heartbeat=30) as ws:
            async for message in ws:
                data = json.loads(message.data)
                if data.get("type") == "synced":
                    self.connected += 1  # the server has finished setting this agent up
                elif data.get("type") == "pop":
                    self.received.append((username, endpoint, data, time.time()))
                    # as the agent page does: acknowledge every pop it displays
                    await ws.send_json({"type": "ack", "call_id": data["call_id"],
                                        "seq": data["seq"], "seen": False})
                elif data.get("type") == "ping":
                    await ws.send_json({"type": "pong", "t": data.get("t")})

    async def place_calls(self, count: int, rate: float, agents_for_call) -> list:
        calls = []
        start = time.perf_counter()
        for i in range(count):
            target = start + i / rate
            delay = target - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            endpoint = agents_for_call()
            call = await self.sim.start_call("inbound_direct", customer=f"55{random.randrange(10**8):08d}",
                                             agents=[endpoint], speed=0.25)
            calls.append((call.call_id, endpoint))
        return calls

    async def stop(self) -> None:
        for task in self.client_tasks:
            task.cancel()
        await asyncio.gather(*self.client_tasks, return_exceptions=True)
        await self.http.close()
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            proc.wait(timeout=20)
        await self.sim.stop()
        async for key in self.redis.scan_iter(match=f"{self.keys.prefix}:*", count=1000):
            await self.redis.delete(key)
        await self.redis.aclose()


async def loop_lag(samples: list[float]) -> None:
    """How late this process's own event loop wakes up: the clients' share of the latency."""
    while True:
        start = time.perf_counter()
        await asyncio.sleep(0.01)
        samples.append((time.perf_counter() - start - 0.01) * 1000)


async def bench_latency(stack: Stack, calls: int, rate: float) -> dict:
    stack.received.clear()
    lag: list[float] = []
    lag_task = asyncio.create_task(loop_lag(lag))
    started = time.time()
    placed = await stack.place_calls(calls, rate, lambda: random.choice(stack.endpoints))
    lag_task.cancel()
    expected = dict(placed)
    deadline = time.time() + 30
    while time.time() < deadline:
        ringing = {p["call_id"] for _, _, p, _ in stack.received if p["state"] == "ringing"}
        if expected.keys() <= ringing:
            break
        await asyncio.sleep(0.2)
    latencies, wrong, first_seen = [], 0, set()
    offsets: list[float] = []  # when each measured call rang, seconds into the run
    to_telephony: list[float] = []  # simulator write → telephony reads the event
    to_browser: list[float] = []  # telephony reads the event → the agent's client has the pop
    for _username, endpoint, pop, at in stack.received:
        call_id = pop["call_id"]
        if call_id not in expected:
            continue
        if expected[call_id] != endpoint or pop["agent_endpoint"] != endpoint:
            wrong += 1
            continue
        if pop["state"] == "ringing" and call_id not in first_seen:
            first_seen.add(call_id)
            latencies.append((at - stack.sim.rang_at[call_id]) * 1000)
            offsets.append(stack.sim.rang_at[call_id] - started)
            if pop.get("event_at"):
                to_telephony.append((pop["event_at"] - stack.sim.rang_at[call_id]) * 1000)
                to_browser.append((at - pop["event_at"]) * 1000)
    return {"calls": calls, "rate": rate, "delivered": len(first_seen),
            "lost": len(expected) - len(first_seen), "wrong_agent": wrong,
            "p50_ms": percentile(latencies, 0.50), "p99_ms": percentile(latencies, 0.99),
            "p999_ms": percentile(latencies, 0.999),
            "max_ms": max(latencies), "mean_ms": statistics.fmean(latencies),
            "latencies_ms": latencies,
            "worst": sorted(zip(latencies, offsets), reverse=True)[:3],
            "client_lag_p99_ms": percentile(lag, 0.99), "client_lag_max_ms": max(lag),
            "telephony_p99_ms": percentile(to_telephony, 0.99),
            "screenpop_p99_ms": percentile(to_browser, 0.99)}


async def bench_memory(stack: Stack, calls: int, rate: float) -> dict:
    marks = {}
    checkpoint = calls // 10
    done = 0
    for chunk in (checkpoint, calls - checkpoint):
        await stack.place_calls(chunk, rate, lambda: random.choice(stack.endpoints))
        done += chunk
        while stack.sim.live_calls():
            await asyncio.sleep(0.5)
        await asyncio.sleep(2)
        marks[done] = {name: rss_mb(proc.pid) for name, proc in stack.procs.items()}
    return marks


async def bench_database(server_url: str) -> str:
    """A fresh, migrated database for the records run, on DATABASE_URL's server."""
    name = f"bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(server_url, timeout=5)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = f"{server_url.rpartition('/')[0]}/{name}"
    conn = await asyncpg.connect(url, timeout=5)
    try:
        await migrate(conn, load_migrations())
    finally:
        await conn.close()
    return url


async def drop_database(server_url: str, url: str) -> None:
    conn = await asyncpg.connect(server_url, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" WITH (FORCE)')
    finally:
        await conn.close()


async def complete_count(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT count(*) FROM call_records WHERE complete")


async def sample_ingest(url: str, samples: list[tuple[float, int]]) -> None:
    """(time, complete records) twice a second while the pop benchmark runs."""
    conn = await asyncpg.connect(url, timeout=5)
    try:
        while True:
            samples.append((time.time(), await complete_count(conn)))
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


def niceness(value: int) -> Callable[[int], None]:
    return lambda pid: os.setpriority(os.PRIO_PROCESS, pid, value)


def idle_priority(pid: int) -> None:
    """SCHED_IDLE: the backend runs only on CPU nothing else wants. Unlike a niceness it never
    preempts the process that woke it (a backend woken by a writer's statement otherwise runs on
    that writer's core and takes it, mid-loop, for the whole statement)."""
    os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))


async def deprioritise_backends(url: str, apply: Callable[[int], None]) -> None:
    """Applies `apply` to every PostgreSQL backend connected to the database at `url` (the
    writers connect at their first fact, so this looks again every half second)."""
    conn = await asyncpg.connect(url, timeout=5)
    done: set[int] = set()
    try:
        while True:
            for row in await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = "
                                        "current_database()"):
                if row["pid"] not in done:
                    done.add(row["pid"])
                    try:
                        apply(row["pid"])
                    except OSError as exc:
                        print(f"backend {row['pid']} left at its CPU priority: {exc}", flush=True)
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


def prioritise_benchmark(niceness: int) -> Callable[[], None]:
    """Runs this process (the simulated PBX and the agents' clients, which stamp both ends of
    every latency) at `niceness`, and gives what Stack starts the niceness it had: in production
    the PBX and the browsers have CPUs of their own, so a pop delayed while they wait for a core
    is the benchmark measuring itself."""
    services = os.getpriority(os.PRIO_PROCESS, 0)
    os.setpriority(os.PRIO_PROCESS, 0, niceness)
    return lambda: os.setpriority(os.PRIO_PROCESS, 0, services)


def sustained_rate(samples: list[tuple[float, int]]) -> float:
    """Complete records per second between the first and the last sample that saw some."""
    seen = [(t, n) for t, n in samples if n]
    if len(seen) < 2 or seen[-1][0] == seen[0][0]:
        return float("nan")
    return (seen[-1][1] - seen[0][1]) / (seen[-1][0] - seen[0][0])


async def complete_records(url: str, calls: int, timeout: float = 120) -> dict:
    """Waits until `calls` complete records are written; how long that took from now."""
    conn = await asyncpg.connect(url, timeout=5)
    started = time.time()
    try:
        deadline = started + timeout
        while True:
            done = await complete_count(conn)
            if done >= calls or time.time() > deadline:
                break
            await asyncio.sleep(0.2)
        agents = await conn.fetchval("SELECT count(*) FROM call_agents")
        events = await conn.fetchval("SELECT count(*) FROM call_events")
    finally:
        await conn.close()
    return {"complete": done, "catch_up": time.time() - started, "agents": agents,
            "events": events}


def call_facts(call_id: str, at: float) -> list:
    """The facts telephony writes for a plain answered call (as telephony.records builds them)."""
    common = dict(direction="inbound", customer_number="5215512345678", campaign_id=None,
                  preinstallation_id=None, queue="ventas", ring_at=at, hangup_by="customer",
                  hangup_cause=16, recording_file=f"2026/12/01/{call_id}.wav", latest=call_id)
    leg = f"{call_id} PJSIP/6001"
    return [
        facts.event_fact(call_id, "started", at, "started", "bench", {"direction": "inbound"}),
        facts.call_fact(call_id, answered_at=None, ended_at=None, complete=False, **common),
        facts.channel_fact(call_id, call_id, "SIP/pstn-gw-00000001"),
        facts.channel_fact(call_id, f"{call_id}1", "PJSIP/6001-00000002"),
        facts.agent_fact(call_id, "PJSIP/6001", rang_at=at, latest=leg),
        facts.event_fact(call_id, "agent:PJSIP/6001:ringing", at, "agent_ringing", "PJSIP/6001", {}),
        facts.call_fact(call_id, answered_at=at + 3, ended_at=None, complete=False, **common),
        facts.agent_fact(call_id, "PJSIP/6001", rang_at=at, answered_at=at + 3, latest=leg),
        facts.event_fact(call_id, "agent:PJSIP/6001:answered", at + 3, "agent_answered",
                         "PJSIP/6001", {}),
        facts.call_fact(call_id, answered_at=at + 3, ended_at=at + 60, complete=True, **common),
        facts.agent_fact(call_id, "PJSIP/6001", rang_at=at, answered_at=at + 3, left_at=at + 60,
                         latest=leg),
        facts.event_fact(call_id, "ended", at + 60, "ended", "customer", {"hangup_cause": 16}),
    ]


async def bench_writer(url: str, calls: int) -> dict:
    """The writer alone: `calls` calls' facts queued at once, timed until all are written."""
    batches = [call_facts(f"bench-{i}", time.time()) for i in range(calls)]
    writer = RecordWriter(pool_connector(url), max_queued=sum(map(len, batches)))
    for batch in batches:
        for fact in batch:
            writer.submit(fact)
    started = time.perf_counter()
    writer.start()
    await writer.flush(600)
    seconds = time.perf_counter() - started
    await writer.stop()
    return {"calls": calls, "facts": writer.written, "seconds": seconds, "rate": calls / seconds}


def latency_line(label: str, latency: dict) -> str:
    return (f"{label}: p50 {latency['p50_ms']:.1f} ms · p99 {latency['p99_ms']:.1f} ms · "
            f"max {latency['max_ms']:.1f} ms · delivered {latency['delivered']} · lost "
            f"{latency['lost']} · wrong agent {latency['wrong_agent']} · p99 by leg: PBX → "
            f"telephony {latency['telephony_p99_ms']:.1f} ms, telephony → agent "
            f"{latency['screenpop_p99_ms']:.1f} ms")


def change(base: float, loaded: float) -> str:
    return f"{(loaded / base - 1) * 100:+.1f} %"


STAND_IN_PERIOD = 0.5  # the record writer's linger: its batches, and PostgreSQL's work, come so


def burn(busy_seconds: float, period: float, stop) -> None:
    """A stand-in for the record workers and PostgreSQL: `busy_seconds` of CPU every `period`,
    at SCHED_IDLE as they are (the workers always; the backends with --database-idle)."""
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    while not stop.is_set():
        started = time.perf_counter()
        while time.perf_counter() - started < busy_seconds:
            pass
        stop.wait(max(0.0, period - (time.perf_counter() - started)))


RECORD_CPU = ("telephony records", "screenpop records", "postgres")


async def bench_records(redis_url: str, args: argparse.Namespace) -> None:
    server_url = os.environ.get("DATABASE_URL")
    if not server_url:
        raise SystemExit("--records needs DATABASE_URL (scripts/bench.sh sets it)")
    database = await bench_database(server_url)
    try:
        if args.writer_calls:
            alone = await bench_writer(database, args.writer_calls)
            print(f"record writer alone: {alone['calls']:,} calls ({alone['facts']:,} facts) in "
                  f"{alone['seconds']:.1f} s = {alone['rate']:,.0f} calls/s", flush=True)
            await drop_database(server_url, database)
            database = await bench_database(server_url)
        deprioritise = idle_priority if args.database_idle else \
            niceness(args.database_nice) if args.database_nice else None
        services_niceness = prioritise_benchmark(args.benchmark_nice) \
            if args.benchmark_nice else None
        results, samples = {}, []
        # the first round on a new database runs slower whichever kind it is: it is a warm-up,
        # printed and not counted
        kinds = [("without records", False), ("with records", True)]
        if args.stand_in:
            kinds.append(("stand-in load", False))
        order = [("warm-up", True)] + kinds * args.rounds
        record_cpu_ms = {}  # per call, in the last round with records: what the stand-in burns
        idle_cpu_ms = {}  # the same processes' CPU per call in the last round without
        spawn = multiprocessing.get_context("spawn")
        for label, records in order:
            stack = Stack(redis_url, args.agents, database, records=records,
                          before_service=services_niceness)
            await stack.start()
            freeze_startup_heap()
            stop_burning, burner = spawn.Event(), None
            if label == "stand-in load":
                busy = sum(record_cpu_ms.values()) / 1000 * args.rate * STAND_IN_PERIOD
                print(f"stand-in load: {busy * 1000:.0f} ms of CPU every "
                      f"{STAND_IN_PERIOD:g} s at SCHED_IDLE", flush=True)
                burner = spawn.Process(target=burn, args=(busy, STAND_IN_PERIOD, stop_burning),
                                       daemon=True)
                burner.start()
            # sampled in both kinds of round, so both carry the same load from the benchmark
            sampler = asyncio.create_task(sample_ingest(database, samples))
            deprioritised = asyncio.create_task(deprioritise_backends(database, deprioritise)) \
                if deprioritise else None
            try:
                before = len(samples)
                cpu_before, machine_before = cpu_snapshot(stack), machine_busy_seconds()
                latency = await bench_latency(stack, args.latency_calls, args.rate)
                cpu = {name: (seconds - cpu_before[name]) * 1000 / args.latency_calls
                       for name, seconds in cpu_snapshot(stack).items()}
                stop_burning.set()
                if records:  # the database's CPU beyond what it spends without records
                    record_cpu_ms = {name: max(0.0, cpu[name] - idle_cpu_ms.get(name, 0.0))
                                     for name in RECORD_CPU}
                elif label == "without records":
                    idle_cpu_ms = {name: cpu[name] for name in RECORD_CPU}
                busy, total = (after - before for after, before
                               in zip(machine_busy_seconds(), machine_before))
                if label != "warm-up":
                    results.setdefault(label, []).append(latency)
                print(latency_line(f"pop latency {label} ({args.agents} agents, "
                                   f"{args.rate:.0f} calls/s, {args.latency_calls} calls)",
                                   latency), flush=True)
                print("CPU per call: " + " · ".join(f"{name} {ms:.1f} ms"
                                                     for name, ms in cpu.items())
                      + f" · the machine {busy / total:.0%} busy", flush=True)
                sampler.cancel()
                await asyncio.gather(sampler, return_exceptions=True)
                if deprioritised is not None:
                    deprioritised.cancel()
                    await asyncio.gather(deprioritised, return_exceptions=True)
                if records:
                    rate = sustained_rate(samples[before:])
                    ingest = await complete_records(database,
                                                    samples[before][1] + args.latency_calls)
                    print(f"record ingest while the pops ran: {rate:.1f} complete calls/s "
                          f"sustained; the last records landed {ingest['catch_up']:.1f} s after "
                          f"the last pop ({ingest['complete']} complete records, "
                          f"{ingest['agents']} agent rows, {ingest['events']} events in all)",
                          flush=True)
            finally:
                stop_burning.set()
                if burner is not None:
                    burner.join(5)
                await stack.stop()
        # A round's p99 rests on its handful of worst pops: it scatters by tens of percent
        # between identical rounds. The comparison pools every round's pops of each kind.
        pooled = {label: [ms for r in rounds for ms in r["latencies_ms"]]
                  for label, rounds in results.items()}
        comparisons = [("without records", "with records")]
        if args.stand_in:
            comparisons += [("without records", "stand-in load"),
                            ("stand-in load", "with records")]
        for name, q in (("p50", 0.50), ("p99", 0.99)):
            for base_label, label in comparisons:
                compare(name, q, pooled, results, base_label, label)
    finally:
        await drop_database(server_url, database)


def compare(name: str, q: float, pooled: dict, results: dict, base_label: str,
            label: str) -> None:
    base, loaded = percentile(pooled[base_label], q), percentile(pooled[label], q)
    scatter = {kind: ", ".join(f"{r[name + '_ms']:.1f}" for r in results[kind])
               for kind in (base_label, label)}
    print(f"pop {name} over all {len(pooled[label])} pops of each kind: {base:.1f} ms "
          f"{base_label}, {loaded:.1f} ms {label} ({change(base, loaded)}) · by round: "
          f"{base_label} {scatter[base_label]}; {label} {scatter[label]}", flush=True)
    # each round against the round of the other kind run beside it: a round the machine ran
    # slower for everything (the benchmark's own CPU per call shows it) counts once
    paired = [on[name + "_ms"] / off[name + "_ms"] - 1
              for off, on in zip(results[base_label], results[label])]
    print(f"pop {name} change by round, {label} against {base_label}: "
          + ", ".join(f"{ratio * 100:+.1f} %" for ratio in paired)
          + f" · median {statistics.median(paired) * 100:+.1f} %", flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--event-calls", type=int, default=1500,
                        help="calls blasted for the events/s measurement (0 skips it)")
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0, help="new calls per second")
    parser.add_argument("--latency-calls", type=int, default=6000)
    parser.add_argument("--memory-calls", type=int, default=100_000)
    parser.add_argument("--memory-rate", type=float, default=100.0)
    parser.add_argument("--writer-calls", type=int, default=20_000,
                        help="calls written by the record writer alone (--records)")
    parser.add_argument("--records", action="store_true",
                        help="only the pop latency without and with call records (see 4.)")
    parser.add_argument("--database-nice", type=int, default=0,
                        help="--records: CPU niceness of the benchmark database's backends")
    parser.add_argument("--benchmark-nice", type=int, default=0,
                        help="--records: CPU niceness of this process (the PBX and the clients)")
    parser.add_argument("--stand-in", action="store_true",
                        help="--records: a third kind of round, records off and their CPU "
                             "burnt beside the services at SCHED_IDLE")
    parser.add_argument("--database-idle", action="store_true",
                        help="--records: the benchmark database's backends at SCHED_IDLE")
    parser.add_argument("--rounds", type=int, default=1,
                        help="--records: alternate the two runs this many times each")
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if args.records:
        await bench_records(redis_url, args)
        return

    if args.event_calls:
        events = await bench_events(args.event_calls)
        ours, bare = events["ours"], events["panoramisk"]
        print(f"AMI events/s on one core: listener+tracker {ours['rate']:,.0f} "
              f"({ours['events']:,} events in {ours['seconds']:.2f} s) · bare panoramisk "
              f"{bare['rate']:,.0f} · ratio {ours['rate'] / bare['rate']:.2f} · with the call "
              f"recorder {events['records']['rate']:,.0f}", flush=True)

    server_url = os.environ.get("DATABASE_URL")
    if not server_url:
        raise SystemExit("the accounts need DATABASE_URL (scripts/bench.sh sets it)")
    database = await bench_database(server_url)  # the accounts; records off, as before them
    stack = Stack(redis_url, args.agents, database, records=False)
    await stack.start()
    freeze_startup_heap()  # the 1,000 clients are long-lived: keep them out of full collections
    try:
        latency = await bench_latency(stack, args.latency_calls, args.rate)
        print(f"pop latency with {args.agents} agents at {args.rate:.0f} calls/s "
              f"({latency['calls']} calls): p50 {latency['p50_ms']:.1f} ms · p99 "
              f"{latency['p99_ms']:.1f} ms · p99.9 {latency['p999_ms']:.1f} ms · max {latency['max_ms']:.1f} ms · delivered "
              f"{latency['delivered']} · lost {latency['lost']} · wrong agent "
              f"{latency['wrong_agent']} · p99 of the legs: PBX→telephony "
              f"{latency['telephony_p99_ms']:.1f} ms, telephony→agent "
              f"{latency['screenpop_p99_ms']:.1f} ms · benchmark's own loop lag p99 "
              f"{latency['client_lag_p99_ms']:.1f} ms, max {latency['client_lag_max_ms']:.1f} ms"
              " · worst: " + ", ".join(f"{ms:.0f} ms at {at:.1f} s" for ms, at in latency["worst"]),
              flush=True)
        if args.memory_calls:
            marks = await bench_memory(stack, args.memory_calls, args.memory_rate)
            (small, rss_small), (large, rss_large) = sorted(marks.items())
            for name in ("telephony", "screenpop"):
                growth = (rss_large[name] / rss_small[name] - 1) * 100
                print(f"RSS {name}: {rss_small[name]:.1f} MB after {small:,} calls · "
                      f"{rss_large[name]:.1f} MB after {large:,} calls · growth {growth:+.1f} %",
                      flush=True)
    finally:
        await stack.stop()
        await drop_database(server_url, database)


if __name__ == "__main__":
    asyncio.run(main())
