"""Benchmark of the IVR's FastAGI look-up. Prints figures; asserts nothing.

The telephony service's FastAGI server (telephony.ivr, the real Redis index filled by
screenpop.index) runs in its own process; this process plays Asterisk with --sessions concurrent
AGI sessions, each one a fresh TCP connection doing what Asterisk 20 does for
`AGI(agi://…/lookup?did=…)`: send the recorded environment block, answer every command with
`200 result=1`, send HANGUP when the server half-closes. A look-up's latency runs from the first
byte of the environment to the server's close, i.e. how long the AGI step holds the call.
Callers are drawn from the index (one match, a shared number, none) in equal parts.

    .venv/bin/python scripts/bench_agi.py [--sessions 200] [--think 20] [--duration 60]
                                          [--lookups 10000] [--rate 100] [--profile FILE]

Three runs: 200 calls in progress, each doing its look-up and then spending --think seconds (mean)
before the next call takes its place (what Asterisk carrying 200 calls sends: the latency a
call sees); an open loop (calls arrive at --rate per second, at most 200 sessions at once); a
closed loop (200 sessions always busy: how many look-ups/s the server answers, CPU-bound). Each
run reports the server's CPU per look-up (from /proc); --profile FILE profiles the server.
Uses REDIS_URL (default redis://127.0.0.1:6379/0) under a fresh key prefix it removes at the end.
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import multiprocessing
import os
import pstats
import random
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis.asyncio as aioredis  # noqa: E402
import uvloop  # noqa: E402

from common import redisconn  # noqa: E402
from common.keys import Keys  # noqa: E402
from screenpop.index import PreinstallationIndex  # noqa: E402
from screenpop.wisphub.models import Preinstallation  # noqa: E402
from telephony.config import TelephonyConfig  # noqa: E402
from telephony.ivr import create_ivr  # noqa: E402

ENV_TEMPLATE = (
    "agi_network: yes\nagi_network_script: lookup?did=5550001001\n"
    "agi_request: agi://127.0.0.1:4573/lookup?did=5550001001\nagi_channel: PJSIP/trunk-{n:08x}\n"
    "agi_language: es\nagi_type: PJSIP\nagi_uniqueid: 1796155799.{n}\nagi_version: 20.20.1\n"
    "agi_callerid: {caller}\nagi_calleridname: Cliente\nagi_callingpres: 0\n"
    "agi_callingani2: 0\nagi_callington: 0\nagi_callingtns: 0\nagi_dnid: 5550001001\n"
    "agi_rdnis: unknown\nagi_context: ivr\nagi_extension: s\nagi_priority: 12\n"
    "agi_enhanced: 0.0\nagi_accountcode: \nagi_threadid: 140337412806336\n\n")


WARM_UP = 200
# commands the lookup sends → what it answered (telephony/ivr/lookup.py)
ANSWERS = {0: "over budget (defaults)", 1: "none", 2: "many", 3: "one"}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def record(n: int, phone: str) -> Preinstallation:
    return Preinstallation(id=str(100000 + n), username=None, name=f"Cliente {n}", phones=(phone,),
                           phone_raw=phone, email=None, address=None, zone=None, created_at=None,
                           missing=(), activation_path=None)


def callers(records: int) -> list[str]:
    """National 10-digit caller IDs: one match, a shared number (two records), no match."""
    one = [f"55{1000_0000 + n:08d}" for n in range(0, records, 2)]
    shared = ["5590000000", "5590000001"]
    none = [f"33{1000_0000 + n:08d}" for n in range(records // 2)]
    return one[: len(none)] + shared * (len(none) // 2) + none


async def seed(redis_url: str, keys: Keys, count: int) -> None:
    redis = aioredis.from_url(redis_url, decode_responses=True)
    rows = [record(n, f"+5255{1000_0000 + n:08d}") for n in range(0, count, 2)]
    rows += [record(count + n, f"+52559000000{n % 2}") for n in range(4)]
    await PreinstallationIndex(redis, keys).replace_all(rows, "bench")
    await redis.aclose()


def serve(redis_url: str, prefix: str, port: int, ready, stop, profile: str | None) -> None:
    # as deployed (LOG_LEVEL=INFO), into /dev/null: over-budget look-ups are counted by the client
    logging.basicConfig(level=logging.INFO, stream=open(os.devnull, "w"))

    async def main() -> None:
        redis = redisconn.connect(redis_url, socket_timeout=2.0)
        ivr = create_ivr(TelephonyConfig(redis_url=redis_url, redis_prefix=prefix, agi_port=port),
                         redis=redis)
        await ivr.start()
        profiler = cProfile.Profile() if profile else None
        if profiler is not None:
            profiler.enable()
        ready.set()
        await asyncio.get_running_loop().run_in_executor(None, stop.wait)
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)
    uvloop.run(main())


async def session(port: int, n: int, caller: str) -> tuple[float, int]:
    """One AGI session: (seconds until the server closed, commands it sent)."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    commands = 0
    try:
        writer.write(ENV_TEMPLATE.format(n=n, caller=caller).encode())
        while await reader.readline():
            commands += 1
            writer.write(b"200 result=1\n")
        elapsed = time.perf_counter() - started
        writer.write(b"HANGUP\n")
        return elapsed, commands
    finally:
        writer.close()


async def closed_loop(port: int, sessions: int, lookups: int,
                      numbers: list[str]) -> tuple[list[float], Counter[str], float]:
    """`sessions` AGI sessions at all times: each starts the next look-up as soon as one ends."""
    latencies: list[float] = []
    results: Counter[str] = Counter()
    counter = iter(range(lookups))
    rng = random.Random(7)

    async def worker() -> None:
        for n in counter:
            await one(port, n, rng.choice(numbers), time.perf_counter(), latencies, results)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(sessions)))
    return latencies, results, time.perf_counter() - started


async def open_loop(port: int, sessions: int, lookups: int, numbers: list[str],
                    rate: float) -> tuple[list[float], Counter[str], float]:
    """Calls reach the IVR at `rate` per second (Poisson), up to `sessions` at once; a call's
    latency runs from its arrival, so waiting for a free session counts too."""
    latencies: list[float] = []
    results: Counter[str] = Counter()
    rng = random.Random(11)
    free = asyncio.Semaphore(sessions)
    tasks = []

    async def call(n: int, arrived: float) -> None:
        async with free:
            await one(port, n, rng.choice(numbers), arrived, latencies, results)

    started = time.perf_counter()
    due = started
    for n in range(lookups):
        due += rng.expovariate(rate)
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.ensure_future(call(n, due)))
    await asyncio.gather(*tasks)
    return latencies, results, time.perf_counter() - started


async def calls_loop(port: int, sessions: int, think: float, duration: float,
                     numbers: list[str]) -> tuple[list[float], Counter[str], float]:
    """As a PBX carrying `sessions` calls: each call does its AGI look-up, then spends `think`
    seconds on average (exponential) in the menu, the queue and the conversation before the next
    caller takes its place; the look-ups are spread as calls really start, not all at once."""
    latencies: list[float] = []
    results: Counter[str] = Counter()
    rng = random.Random(13)
    counter = iter(range(10**9))
    started = time.perf_counter()
    deadline = started + duration

    async def pause(seconds: float) -> bool:
        """Sleep, but not past the deadline; False once it has passed."""
        await asyncio.sleep(max(0.0, min(seconds, deadline - time.perf_counter())))
        return time.perf_counter() < deadline

    async def channel() -> None:
        wait = rng.uniform(0, think)  # calls already in progress at the start
        while await pause(wait):
            await one(port, next(counter), rng.choice(numbers), time.perf_counter(), latencies,
                      results)
            wait = rng.expovariate(1 / think)

    await asyncio.gather(*(channel() for _ in range(sessions)))
    return latencies, results, time.perf_counter() - started


async def one(port: int, n: int, caller: str, since: float, latencies: list[float],
              results: Counter[str]) -> None:
    try:
        _, commands = await session(port, n, caller)
    except OSError as exc:
        results[f"failed: {type(exc).__name__}"] += 1
        return
    latencies.append(time.perf_counter() - since)
    results[ANSWERS.get(commands, f"{commands} commands")] += 1


async def drive(port: int, args: argparse.Namespace, numbers: list[str], pid: int) -> list[tuple]:
    """Each run: (name, (latencies, answers, seconds), server CPU seconds it used)."""
    rng = random.Random(3)
    for n in range(WARM_UP):  # connections, number metadata, the Lua script
        await session(port, n, rng.choice(numbers))
    plans = [
        (f"{args.sessions} calls, a look-up each {args.think:g} s on average",
         lambda: calls_loop(port, args.sessions, args.think, args.duration, numbers)),
        (f"open loop, {args.rate:g} calls/s",
         lambda: open_loop(port, args.sessions, args.lookups, numbers, args.rate)),
        ("closed loop", lambda: closed_loop(port, args.sessions, args.lookups, numbers)),
    ]
    runs = []
    for name, run in plans:
        before = cpu_seconds(pid)
        result = await run()
        runs.append((name, result, cpu_seconds(pid) - before))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=200, help="concurrent AGI sessions")
    parser.add_argument("--lookups", type=int, default=10000, help="look-ups in each run")
    parser.add_argument("--rate", type=float, default=100.0,
                        help="calls/s reaching the IVR in the open-loop run")
    parser.add_argument("--think", type=float, default=20.0,
                        help="seconds a call spends between look-ups in the calls run (mean)")
    parser.add_argument("--duration", type=float, default=60.0,
                        help="seconds the calls run lasts")
    parser.add_argument("--records", type=int, default=5000, help="preinstallations in the index")
    parser.add_argument("--profile", metavar="FILE",
                        help="profile the server (cProfile) and write its stats to FILE")
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    keys = Keys(prefix=f"bench-agi-{uuid.uuid4().hex[:8]}")
    asyncio.run(seed(redis_url, keys, args.records))
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter, nothing inherited
    ready, stop = spawn.Event(), spawn.Event()
    server = spawn.Process(target=serve, args=(redis_url, keys.prefix, port, ready, stop,
                                               args.profile), daemon=True)
    server.start()
    try:
        if not ready.wait(15):
            sys.exit("the FastAGI server did not start")
        runs = uvloop.run(drive(port, args, callers(args.records), server.pid))
    finally:
        stop.set()
        server.join(15)
        if server.is_alive():
            server.terminate()
            server.join(5)
        asyncio.run(forget(redis_url, keys))
    print(f"FastAGI look-ups, at most {args.sessions} concurrent AGI sessions, "
          f"{args.records} records in the index; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")
    for name, (latencies, results, seconds), cpu in runs:
        ms = [value * 1000 for value in latencies]
        print(f"  {name}: {len(ms)} look-ups in {seconds:.2f} s = {len(ms) / seconds:,.1f}/s")
        print(f"    latency ms: p50 {percentile(ms, 0.5):.2f} · p99 {percentile(ms, 0.99):.2f} · "
              f"p99.9 {percentile(ms, 0.999):.2f} · max {max(ms):.2f}   (target p99 <= 10 ms)")
        print("    answers: " + ", ".join(f"{k} {v}" for k, v in results.most_common()))
        print(f"    server CPU per look-up: {cpu / max(1, len(ms)) * 1000:.2f} ms")
    if args.profile:
        pstats.Stats(args.profile).sort_stats("tottime").print_stats(25)


async def forget(redis_url: str, keys: Keys) -> None:
    redis = aioredis.from_url(redis_url, decode_responses=True)
    async for key in redis.scan_iter(match=f"{keys.prefix}:*", count=1000):
        await redis.delete(key)
    await redis.aclose()


if __name__ == "__main__":
    main()
