"""Dialer benchmark: decisions per second and next-record pick latency over a campaign of
1,000,000 records, then dialer processes racing over 100,000 attempts, counting double dials.

    .venv/bin/python scripts/bench_dialer.py [--records N] [--decisions N] [--race-attempts N]

It works in a database of its own on DATABASE_URL's server (created, migrated, dropped at the
end) and prints figures; nothing in it is a test. A decision is one lead claimed for dialing
(the pick: the claim statement and its commit), its attempt's outcome recorded and the lead's
next eligible time computed and stored.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from common.db.migrations import load_migrations, migrate
from common.db.pool import create_pool
from common.dialer.outcomes import Outcome
from common.dialer.store import Campaign, DialerStore, Mode

ZONES = ("America/Mexico_City", "America/Tijuana", "America/Hermosillo", "America/Cancun")
# A Wednesday at 17:00 UTC: inside the default window in all four zones.
NOW = datetime(2026, 7, 15, 17, tzinfo=UTC)
LEASE = timedelta(minutes=5)
OUTCOMES = [Outcome.NO_ANSWER] * 50 + [Outcome.BUSY] * 10 + [Outcome.CONNECTED] * 25 + \
    [Outcome.MACHINE] * 10 + [Outcome.FAILED] * 5


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def fill(pool: asyncpg.Pool, campaign_id: str, count: int, *, shared_every: int = 0) -> None:
    """`count` ready leads made by the server itself; with shared_every = k, every k-th record
    reuses one of 1,000 numbers (family phones), so the one-call-per-number guard is raced too."""
    phone = "'+5255' || lpad((CASE WHEN $3 > 0 AND i % $3 = 0 THEN i / $3 % 1000 ELSE i END)" \
            "::text, 8, '0')"
    await pool.execute(
        "INSERT INTO dialer_leads (campaign_id, preinstallation_id, phone, time_zone, next_at) "
        f"SELECT $1, 'p' || i, {phone}, ($4::text[])[1 + i % 4], "
        "$5::timestamptz - (i % 3600) * interval '1 second' FROM generate_series(1, $2) AS i",
        campaign_id, count, shared_every, list(ZONES), NOW, timeout=3600)
    await pool.execute("ANALYZE dialer_leads", timeout=600)


async def decisions(store: DialerStore, campaign_id: str, total: int, concurrency: int,
                    batch: int = 1) -> tuple[float, list[float], list[float]]:
    """`concurrency` workers each claiming `batch` leads at a time (as a dialer does when that
    many agents free up) and recording each one's outcome; picks are per claim statement."""
    zones = await store.open_zones(campaign_id, NOW)
    picks: list[float] = []
    finishes: list[float] = []
    remaining = total

    async def worker(name: str) -> None:
        nonlocal remaining
        rng = random.Random(name)
        while remaining > 0:
            take = min(batch, remaining)
            remaining -= take
            started = time.perf_counter()
            claims = await store.claim(campaign_id, worker=name, now=NOW, lease=LEASE,
                                       open_zones=zones, limit=take)
            picks.append(time.perf_counter() - started)
            for claim in claims:
                finished = time.perf_counter()
                await store.finish(claim, rng.choice(OUTCOMES), NOW)
                finishes.append(time.perf_counter() - finished)

    started = time.perf_counter()
    await asyncio.gather(*(worker(f"bench-{i}") for i in range(concurrency)))
    return time.perf_counter() - started, picks, finishes


async def race_worker(url: str, campaign_id: str, name: str, concurrency: int) -> None:
    """One racing dialer process: claims and finishes until no lead is ready or dialing."""
    pool = await create_pool(url, min_size=concurrency, max_size=concurrency)
    store = DialerStore(pool, default_zone=ZONES[0])
    zones = await store.open_zones(campaign_id, NOW)
    done = 0

    async def worker(tag: str) -> None:
        nonlocal done
        while True:
            claims = await store.claim(campaign_id, worker=tag, now=NOW, lease=LEASE,
                                       open_zones=zones, limit=2)
            if not claims:
                if not await pool.fetchval("SELECT EXISTS (SELECT 1 FROM dialer_leads WHERE "
                                           "campaign_id = $1 AND state IN ('ready', "
                                           "'dialing'))", campaign_id):
                    return
                await asyncio.sleep(0.002)
                continue
            for claim in claims:
                await store.finish(claim, Outcome.NO_ANSWER, NOW)
                done += 1

    try:
        await asyncio.gather(*(worker(f"{name}-{i}") for i in range(concurrency)))
    finally:
        await pool.close()
    print(done, flush=True)


async def race(url: str, pool: asyncpg.Pool, store: DialerStore, attempts: int, processes: int,
               concurrency: int) -> dict[str, float]:
    await store.create_campaign(Campaign("race", "carrera", Mode.PROGRESSIVE, max_attempts=1))
    await fill(pool, "race", attempts, shared_every=10)
    started = time.perf_counter()
    children = [subprocess.Popen([sys.executable, __file__, "--worker", url, "race",
                                  f"proc{i}", str(concurrency)], stdout=subprocess.PIPE)
                for i in range(processes)]
    made = [int(child.communicate(timeout=7200)[0]) for child in children]
    elapsed = time.perf_counter() - started
    if any(child.returncode for child in children):
        raise SystemExit("a racing dialer process failed (its error is above)")
    double_claims = await pool.fetchval(
        "SELECT count(*) FROM (SELECT lead_id FROM dialer_attempts WHERE campaign_id = 'race' "
        "GROUP BY lead_id HAVING count(*) > 1) t")
    overlapping = await pool.fetchval(
        "SELECT count(*) FROM (SELECT started_at, lag(ended_at) OVER (PARTITION BY phone "
        "ORDER BY started_at) AS prev FROM dialer_attempts WHERE campaign_id = 'race') t "
        "WHERE started_at < prev")
    recorded = await pool.fetchval("SELECT count(*) FROM dialer_attempts "
                                   "WHERE campaign_id = 'race'")
    return {"attempts": recorded, "per_process": made, "seconds": elapsed,
            "double_claims": double_claims, "overlapping": overlapping}


async def main(args: argparse.Namespace) -> None:
    base, _, _ = args.database_url.rpartition("/")
    name = f"bench_dialer_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(args.database_url, timeout=10)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{base}/{name}"
    try:
        conn = await asyncpg.connect(url, timeout=10)
        await migrate(conn, load_migrations())
        settings = {s: await conn.fetchval(f"SHOW {s}") for s in ("fsync", "synchronous_commit",
                                                                   "server_version")}
        await conn.close()
        pool = await create_pool(url, min_size=2, max_size=args.concurrency + 2)
        store = DialerStore(pool, default_zone=ZONES[0])
        print(f"PostgreSQL {settings['server_version']} (fsync={settings['fsync']}, "
              f"synchronous_commit={settings['synchronous_commit']}), "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

        await store.create_campaign(Campaign("big", "un millón", Mode.PREDICTIVE))
        started = time.perf_counter()
        await fill(pool, "big", args.records)
        print(f"{args.records:,} records generated in {time.perf_counter() - started:.1f} s")
        await decisions(store, "big", min(200, args.decisions), args.concurrency)  # warm-up
        elapsed, picks, finishes = await decisions(store, "big", args.decisions,
                                                   args.concurrency)
        print(f"decisions: {args.decisions:,} in {elapsed:.2f} s = "
              f"{args.decisions / elapsed:,.0f}/s with {args.concurrency} concurrent workers")
        print(f"next-record pick (claim + commit): p50 {statistics.median(picks) * 1000:.2f} ms "
              f"· p99 {percentile(picks, 0.99) * 1000:.2f} ms · max {max(picks) * 1000:.1f} ms")
        print(f"outcome + reschedule: p50 {statistics.median(finishes) * 1000:.2f} ms · "
              f"p99 {percentile(finishes, 0.99) * 1000:.2f} ms")
        single, picks_one, _ = await decisions(store, "big", min(2000, args.decisions), 1)
        print(f"one worker alone: {min(2000, args.decisions) / single:,.0f} decisions/s, pick "
              f"p50 {statistics.median(picks_one) * 1000:.2f} ms · "
              f"p99 {percentile(picks_one, 0.99) * 1000:.2f} ms")
        batched, picks_batched, _ = await decisions(store, "big", args.decisions,
                                                    args.concurrency, batch=10)
        print(f"claiming 10 at a time: {args.decisions / batched:,.0f} decisions/s, claim "
              f"p50 {statistics.median(picks_batched) * 1000:.2f} ms · "
              f"p99 {percentile(picks_batched, 0.99) * 1000:.2f} ms")

        result = await race(url, pool, store, args.race_attempts, args.processes,
                            args.concurrency)
        print(f"race: {args.processes} processes × {args.concurrency} connections, "
              f"{result['attempts']:,} attempts ({' + '.join(map(str, result['per_process']))})"
              f" in {result['seconds']:.1f} s; leads claimed twice: {result['double_claims']}; "
              f"double dials (overlapping attempts on one number): {result['overlapping']}")
        await pool.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "DATABASE_URL", "postgresql://127.0.0.1:5432/postgres"))
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--race-attempts", type=int, default=100_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8,
                        help="connections (workers) per process")
    return parser.parse_args()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        asyncio.run(race_worker(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])))
    else:
        asyncio.run(main(parse()))
