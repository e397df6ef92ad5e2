"""Benchmark of the IVR's FastAGI look-up. Prints figures; asserts nothing.

The telephony service's FastAGI server (telephony.ivr, the real Redis index filled by
screenpop.index) runs in its own process; this process plays Asterisk with --sessions concurrent
AGI sessions, each one a fresh TCP connection doing what Asterisk 20 does for
`AGI(agi://…/lookup?did=…)`: send the recorded environment block, answer every command with
`200 result=1`, send HANGUP when the server half-closes. A look-up's latency runs from the first
byte of the environment to the server's close, i.e. how long the AGI step holds the call.
Callers are drawn from the index (one match, a shared number, none) in equal parts.

    .venv/bin/python scripts/bench_agi.py [--sessions 200] [--lookups 20000] [--records 5000]
Uses REDIS_URL (default redis://127.0.0.1:6379/0) under a fresh key prefix it removes at the end.
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import sys
import time
import uuid
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


def serve(redis_url: str, prefix: str, port: int, ready) -> None:
    async def main() -> None:
        redis = redisconn.connect(redis_url, socket_timeout=2.0)
        ivr = create_ivr(TelephonyConfig(redis_url=redis_url, redis_prefix=prefix, agi_port=port),
                         redis=redis)
        await ivr.start()
        ready.set()
        await asyncio.Event().wait()
    uvloop.run(main())


async def session(port: int, n: int, caller: str) -> float:
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(ENV_TEMPLATE.format(n=n, caller=caller).encode())
    while await reader.readline():
        writer.write(b"200 result=1\n")
    elapsed = time.perf_counter() - started
    writer.write(b"HANGUP\n")
    writer.close()
    return elapsed


async def drive(port: int, sessions: int, lookups: int, numbers: list[str]) -> tuple[list[float], float]:
    latencies: list[float] = []
    counter = iter(range(lookups))
    rng = random.Random(7)

    async def worker() -> None:
        for n in counter:
            latencies.append(await session(port, n, rng.choice(numbers)))

    for n in range(min(200, lookups)):  # warm-up: connections, Lua script cache
        await session(port, n, rng.choice(numbers))
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(sessions)))
    return latencies, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=200, help="concurrent AGI sessions")
    parser.add_argument("--lookups", type=int, default=20000, help="look-ups in all")
    parser.add_argument("--records", type=int, default=5000, help="preinstallations in the index")
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    keys = Keys(prefix=f"bench-agi-{uuid.uuid4().hex[:8]}")
    asyncio.run(seed(redis_url, keys, args.records))
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter, nothing inherited
    ready = spawn.Event()
    server = spawn.Process(target=serve, args=(redis_url, keys.prefix, port, ready),
                                     daemon=True)
    server.start()
    try:
        if not ready.wait(15):
            sys.exit("the FastAGI server did not start")
        latencies, seconds = uvloop.run(drive(port, args.sessions, args.lookups,
                                              callers(args.records)))
    finally:
        server.terminate()
        server.join(5)
        asyncio.run(forget(redis_url, keys))
    ms = [value * 1000 for value in latencies]
    print(f"FastAGI look-ups: {len(ms)} with {args.sessions} concurrent sessions, "
          f"{args.records} records in the index")
    print(f"  {len(ms) / seconds:,.0f} look-ups/s ({seconds:.2f} s)")
    print(f"  latency ms: p50 {percentile(ms, 0.5):.2f} · p99 {percentile(ms, 0.99):.2f} · "
          f"p99.9 {percentile(ms, 0.999):.2f} · max {max(ms):.2f}   (target p99 <= 10 ms)")


async def forget(redis_url: str, keys: Keys) -> None:
    redis = aioredis.from_url(redis_url, decode_responses=True)
    async for key in redis.scan_iter(match=f"{keys.prefix}:*", count=1000):
        await redis.delete(key)
    await redis.aclose()


if __name__ == "__main__":
    main()
