"""QA desk benchmark: N generated call records (default 1,000,000) in a database of its own on
DATABASE_URL's server; first page of the filtered list (agent + date range, disposition +
campaign) p50/p99, and the CSV export's rows/s with the process's memory sampled throughout.

    .venv/bin/python scripts/bench_qa.py [--count 1000000] [--runs 300] [--keep]

Not a test: it prints figures (the README's Benchmarks section quotes them).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.db.migrations import load_migrations, migrate
from common.db.pool import create_pool
from screenpop.qa.export import csv_chunks
from screenpop.qa.filters import CallFilter, parse_filter
from screenpop.qa.generated_calls import (
    AGENT_COUNT,
    CAMPAIGNS,
    DISPOSITIONS,
    agent_name,
    generate_calls,
)
from screenpop.qa.records import list_calls

TZ = ZoneInfo("America/Mexico_City")
END = datetime(2026, 11, 30, tzinfo=UTC)
DAYS = 180
CHUNK = 100_000


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


async def time_first_pages(pool, filters: list[CallFilter]) -> list[float]:
    for flt in filters[:20]:  # warm the cache and the prepared statements
        await list_calls(pool, flt)
    timings = []
    for flt in filters:
        started = time.perf_counter()
        page = await list_calls(pool, flt)
        timings.append((time.perf_counter() - started) * 1000)
        assert page.rows, "every benchmarked filter matches calls"
    return timings


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", metavar="URL", help="measure a database a --keep run left")
    args = parser.parse_args()
    if args.reuse:
        await measure(args.reuse, args)
        return
    server = os.environ.get("DATABASE_URL", "postgresql://127.0.0.1:5432/postgres")
    name = f"qa_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server, timeout=10)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{server.rpartition('/')[0]}/{name}"
    try:
        await run(url, args)
    finally:
        if not args.keep:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            print(f"database kept: {url}")
        await admin.close()


async def run(url: str, args) -> None:
    conn = await asyncpg.connect(url, timeout=10, command_timeout=3600)
    await migrate(conn, load_migrations())
    started = time.perf_counter()
    for first in range(1, args.count + 1, CHUNK):
        await generate_calls(conn, min(CHUNK, args.count - first + 1), end=END, days=DAYS,
                             first=first)
        print(f"\r  generated {first - 1 + min(CHUNK, args.count - first + 1):,} records",
              end="", flush=True)
    await conn.execute("ANALYZE")
    print(f"\n  {args.count:,} records in {time.perf_counter() - started:.1f} s "
          "(INSERT … SELECT generate_series in 100,000-row chunks, call_agents too)")
    await conn.close()
    await measure(url, args)


async def measure(url: str, args) -> None:
    pool = await create_pool(url, max_size=2)
    rng = random.Random(7)
    last_day = (END - timedelta(days=1)).date()

    def agent_range() -> CallFilter:
        end = last_day - timedelta(days=rng.randrange(DAYS - 30))
        return parse_filter({"agent": agent_name(rng.randrange(AGENT_COUNT)),
                             "from": str(end - timedelta(days=rng.choice((1, 7, 30)))),
                             "to": str(end)}, TZ)

    def disposition_campaign() -> CallFilter:
        return parse_filter({"disposition": rng.choice(DISPOSITIONS),
                             "campaign": rng.choice(CAMPAIGNS)}, TZ)

    for label, make in (("agent + date range", agent_range),
                        ("disposition + campaign", disposition_campaign)):
        timings = await time_first_pages(pool, [make() for _ in range(args.runs)])
        print(f"first page (50 rows), {label}: p50 {statistics.median(timings):.2f} ms · "
              f"p99 {percentile(timings, 0.99):.2f} ms · max {max(timings):.2f} ms "
              f"({len(timings)} runs)")

    for label, flt in (("every record", CallFilter()),
                       ("one campaign", parse_filter({"campaign": CAMPAIGNS[1]}, TZ))):
        before, peak, rows, size = rss_mb(), 0.0, 0, 0
        started = time.perf_counter()
        async for chunk in csv_chunks(pool, flt, TZ.key):
            rows += chunk.count(b"\n")
            size += len(chunk)
            peak = max(peak, rss_mb())
        elapsed = time.perf_counter() - started
        rows -= 1  # the header
        print(f"CSV export, {label}: {rows:,} rows in {elapsed:.2f} s = {rows / elapsed:,.0f} "
              f"rows/s, {size / 2 ** 20:.0f} MB of CSV; RSS {before:.0f} MB before, "
              f"peak {peak:.0f} MB")
    await pool.close()
    print(f"(run on {date.today()}, {os.cpu_count()} cores)")


if __name__ == "__main__":
    asyncio.run(main())
