"""Dialer benchmark: decisions per second and next-record pick latency over a campaign of
1,000,000 records, then dialer processes racing over 100,000 attempts, counting double dials.

    .venv/bin/python scripts/bench_dialer.py [--records N] [--decisions N] [--race-attempts N]

It works in a database of its own on DATABASE_URL's server (created, migrated, dropped at the
end) and prints figures; nothing in it is a test. A decision is one lead claimed for dialing
(the pick: the claim statement and its commit) and its attempt's outcome recorded with the
lead's next eligible time computed and stored (the finish: one statement and its commit). The
store runs as a dialer runs it: a pool without asyncpg's per-release reset query and the upkeep
task vacuuming dialer_leads (common.dialer.upkeep), with a do-not-call list of --dnc numbers.
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
from pathlib import Path

import asyncpg

from common.db.migrations import load_migrations, migrate
from common.db.pool import create_pool
from common.dialer.outcomes import Outcome
from common.dialer.store import Campaign, DialerStore, Mode
from common.dialer.upkeep import LeadQueueUpkeep

ZONES = ("America/Mexico_City", "America/Tijuana", "America/Hermosillo", "America/Cancun")
# A Wednesday at 17:00 UTC: inside the default window in all four zones.
NOW = datetime(2026, 7, 15, 17, tzinfo=UTC)
LEASE = timedelta(minutes=5)
OUTCOMES = [Outcome.NO_ANSWER] * 50 + [Outcome.BUSY] * 10 + [Outcome.CONNECTED] * 25 + \
    [Outcome.MACHINE] * 10 + [Outcome.FAILED] * 5


class CpuMeter:
    """CPU time of this process and of the server's backends on the benchmark's database, read
    from /proc (a server on this machine): the cost of a decision whatever else the machine runs,
    which the rates and latencies are not on a shared machine."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._ticks = os.sysconf("SC_CLK_TCK")

    async def _backends(self) -> dict[int, float]:
        pids = await self._pool.fetch("SELECT pid FROM pg_stat_activity "
                                      "WHERE datname = current_database()")
        seconds = {}
        for row in pids:
            try:
                fields = Path(f"/proc/{row['pid']}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            seconds[row["pid"]] = (int(fields[11]) + int(fields[12])) / self._ticks
        return seconds

    async def start(self) -> None:
        self._before = await self._backends()
        self._own = time.process_time()

    async def stop(self) -> tuple[float, float] | None:
        """(server seconds, this process's seconds) since start; None when the server's
        processes cannot be read (another machine)."""
        after = await self._backends()
        if not after:
            return None
        server = sum(cpu - self._before.get(pid, 0.0) for pid, cpu in after.items())
        return server, time.process_time() - self._own


def cpu_line(cpu: tuple[float, float] | None, count: int) -> str:
    if cpu is None:
        return "  CPU per decision: not measured (the server runs on another machine)"
    server, client = cpu
    total = (server + client) / count
    return (f"  CPU per decision: server {server / count * 1000:.2f} ms + benchmark process "
            f"{client / count * 1000:.2f} ms = {total * 1000:.2f} ms, i.e. at most "
            f"{(os.cpu_count() or 1) / total:,.0f} decisions/s if {os.cpu_count()} cores did "
            "nothing else")


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def ms(samples: list[float]) -> str:
    return (f"p50 {statistics.median(samples) * 1000:.2f} ms · "
            f"p99 {percentile(samples, 0.99) * 1000:.2f} ms · max {max(samples) * 1000:.1f} ms")


async def fill_dnc(pool: asyncpg.Pool, count: int) -> None:
    """A do-not-call list of `count` numbers (a REPEP export is millions): one in ten is the
    number of a campaign record, the others are numbers no campaign has."""
    await pool.execute(
        "INSERT INTO dialer_dnc (phone, source) SELECT CASE WHEN i % 10 = 0 THEN '+5255' "
        "ELSE '+5233' END || lpad(i::text, 8, '0'), 'repep' FROM generate_series(1, $1) AS i",
        count, timeout=3600)
    await pool.execute("ANALYZE dialer_dnc", timeout=600)


async def fill(pool: asyncpg.Pool, campaign_id: str, count: int, *, prefix: str = "+5255",
               shared_every: int = 0) -> int:
    """`count` leads made by the server itself, due over the last hour, blocked when their
    number is on the do-not-call list (as add_leads does); with shared_every = k, every k-th
    record reuses one of 1,000 numbers (family phones), so the one-call-per-number guard is
    raced too. Returns how many are ready."""
    phone = f"'{prefix}' || lpad((CASE WHEN $3 > 0 AND i % $3 = 0 THEN i / $3 % 1000 ELSE i " \
            "END)::text, 8, '0')"
    ready = await pool.fetchval(
        "WITH made AS (INSERT INTO dialer_leads (campaign_id, preinstallation_id, phone, "
        "time_zone, next_at, state) "
        f"SELECT $1, 'p' || i, ph, ($4::text[])[1 + i % 4], "
        "$5::timestamptz - (i % 3600) * interval '1 second', CASE WHEN EXISTS (SELECT 1 FROM "
        "dialer_dnc d WHERE d.phone = ph) THEN 'blocked' ELSE 'ready' END "
        f"FROM generate_series(1, $2) AS i, LATERAL (SELECT {phone} AS ph) p RETURNING state) "
        "SELECT count(*) FILTER (WHERE state = 'ready') FROM made",
        campaign_id, count, shared_every, list(ZONES), NOW, timeout=3600)
    await pool.execute("VACUUM ANALYZE dialer_leads", timeout=3600)
    return ready


async def decisions(store: DialerStore, campaign_id: str, total: int, concurrency: int,
                    batch: int = 1, zones: list[str] | None = None,
                    ) -> tuple[float, list[float], list[float]]:
    """`concurrency` workers each claiming `batch` leads at a time (as a dialer does when that
    many agents free up) and recording their outcomes (one finish each, or finish_many for a
    batch); picks and finishes are timed per statement. `zones`: the open ones (default: those
    whose window is open at NOW, all four)."""
    zones = zones or await store.open_zones(campaign_id, NOW)
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
            if not claims:
                raise SystemExit(f"no lead was due in {campaign_id!r}: the benchmark is wrong")
            finished = time.perf_counter()
            if batch == 1:
                assert await store.finish(claims[0], rng.choice(OUTCOMES), NOW)
            else:
                assert all(await store.finish_many(
                    [(claim, rng.choice(OUTCOMES)) for claim in claims], NOW))
            finishes.append(time.perf_counter() - finished)

    started = time.perf_counter()
    await asyncio.gather(*(worker(f"bench-{i}") for i in range(concurrency)))
    return time.perf_counter() - started, picks, finishes


async def race_worker(url: str, campaign_id: str, name: str, concurrency: int) -> None:
    """One racing dialer process (its own pool and upkeep): claims and finishes until no lead
    is ready or dialing."""
    pool = await create_pool(url, min_size=concurrency, max_size=concurrency + 1,
                             reset_sessions=False)
    store = DialerStore(pool, default_zone=ZONES[0])
    upkeep = asyncio.create_task(LeadQueueUpkeep(pool).run())
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
            if not all(await store.finish_many([(c, Outcome.NO_ANSWER) for c in claims], NOW)):
                raise SystemExit(f"{tag}: an attempt of its own claim was refused")
            done += len(claims)

    try:
        await asyncio.gather(*(worker(f"{name}-{i}") for i in range(concurrency)))
    finally:
        upkeep.cancel()
        await pool.close()
    print(done, flush=True)


async def race(url: str, pool: asyncpg.Pool, store: DialerStore, attempts: int, processes: int,
               concurrency: int) -> dict[str, float]:
    await store.create_campaign(Campaign("race", "carrera", Mode.PROGRESSIVE, max_attempts=1))
    await fill(pool, "race", attempts, prefix="+5281", shared_every=10)
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
    # claims PostgreSQL undid in a deadlock over two numbers (the store retries them)
    deadlocks = await pool.fetchval("SELECT deadlocks FROM pg_stat_database "
                                    "WHERE datname = current_database()")
    return {"attempts": recorded, "per_process": made, "seconds": elapsed,
            "double_claims": double_claims, "overlapping": overlapping, "deadlocks": deadlocks}


async def main(args: argparse.Namespace) -> None:
    base, _, _ = args.database_url.rpartition("/")
    name = f"bench_dialer_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(args.database_url, timeout=10)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{base}/{name}"
    try:
        conn = await asyncpg.connect(url, timeout=10)
        await migrate(conn, load_migrations())
        settings = {s: await conn.fetchval(f"SHOW {s}") for s in (
            "fsync", "synchronous_commit", "server_version", "autovacuum")}
        await conn.close()
        pool = await create_pool(url, min_size=2, max_size=args.concurrency + 2,
                                 reset_sessions=False)
        store = DialerStore(pool, default_zone=ZONES[0])
        print(f"PostgreSQL {settings['server_version']} (fsync={settings['fsync']}, "
              f"synchronous_commit={settings['synchronous_commit']}, "
              f"autovacuum={settings['autovacuum']}), "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

        await store.create_campaign(Campaign("big", "un millón", Mode.PREDICTIVE))
        started = time.perf_counter()
        await fill_dnc(pool, args.dnc)
        ready = await fill(pool, "big", args.records)
        print(f"{args.records:,} records ({ready:,} ready, the others' numbers on the "
              f"do-not-call list of {args.dnc:,}) generated in "
              f"{time.perf_counter() - started:.1f} s")
        upkeep = LeadQueueUpkeep(pool, dead_rows=args.upkeep_dead_rows)
        upkeep_task = asyncio.create_task(upkeep.run()) if args.upkeep_dead_rows else None

        await decisions(store, "big", min(200, args.decisions), args.concurrency)  # warm-up
        meter = CpuMeter(pool)
        await meter.start()
        elapsed, picks, finishes = await decisions(store, "big", args.decisions,
                                                   args.concurrency)
        cpu = await meter.stop()
        tenth = max(1, len(picks) // 10)
        print(f"decisions, {args.concurrency} workers claiming one lead each: "
              f"{args.decisions:,} in {elapsed:.2f} s = {args.decisions / elapsed:,.0f}/s "
              f"(load average {os.getloadavg()[0]:.1f})")
        print(f"  next-record pick (claim + commit): {ms(picks)}")
        print(f"  pick p50 over the first / last tenth of the run: "
              f"{statistics.median(picks[:tenth]) * 1000:.2f} / "
              f"{statistics.median(picks[-tenth:]) * 1000:.2f} ms")
        print(f"  outcome + reschedule (finish + commit): {ms(finishes)}")
        print(cpu_line(cpu, args.decisions))

        alone = min(5000, args.decisions)
        single, picks_one, finishes_one = await decisions(store, "big", alone, 1)
        print(f"one worker alone: {alone / single:,.0f} decisions/s "
              f"(load average {os.getloadavg()[0]:.1f})")
        print(f"  next-record pick: {ms(picks_one)}")
        print(f"  outcome + reschedule: {ms(finishes_one)}")

        # the same with commits that do not wait for the WAL flush, to show what of the pick is
        # the disk: a diagnostic only, the store's commits wait (a claim lost by a crash of the
        # server after its Originate went out would be dialled again)
        unflushed = await create_pool(url, min_size=1, max_size=1, reset_sessions=False)
        await unflushed.execute("SET synchronous_commit = off")  # kept: no reset on release
        _, picks_unflushed, finishes_unflushed = await decisions(
            DialerStore(unflushed, default_zone=ZONES[0]), "big", alone, 1)
        await unflushed.close()
        print(f"one worker, commits not waiting for the WAL flush (diagnostic): pick "
              f"{ms(picks_unflushed)}; finish {ms(finishes_unflushed)}")

        _, picks_zone, _ = await decisions(store, "big", alone, 1, zones=[ZONES[3]])
        print(f"one worker, only {ZONES[3]} open (the other three zones' due leads wait): "
              f"pick {ms(picks_zone)}")

        await meter.start()
        batched, picks_batched, finishes_batched = await decisions(
            store, "big", args.decisions, args.concurrency, batch=args.batch)
        cpu = await meter.stop()
        print(f"{args.concurrency} workers claiming {args.batch} at a time, their outcomes in "
              f"one finish_many: {args.decisions / batched:,.0f} decisions/s "
              f"(load average {os.getloadavg()[0]:.1f})")
        print(f"  claim of {args.batch}: {ms(picks_batched)}")
        print(f"  finish_many of {args.batch}: {ms(finishes_batched)}")
        print(cpu_line(cpu, args.decisions))
        if upkeep_task is not None:
            upkeep_task.cancel()
        print(f"upkeep: {upkeep.vacuums} vacuums of dialer_leads during the decisions, "
              f"{upkeep.vacuum_seconds:.1f} s in all"
              + ("" if args.upkeep_dead_rows else " (turned off with --upkeep-dead-rows 0)"))

        if args.race_attempts:
            result = await race(url, pool, store, args.race_attempts, args.processes,
                                args.concurrency)
            print(f"race: {args.processes} processes × {args.concurrency} connections, "
                  f"{result['attempts']:,} attempts "
                  f"({' + '.join(map(str, result['per_process']))}) in "
                  f"{result['seconds']:.1f} s = {result['attempts'] / result['seconds']:,.0f}/s; "
                  f"leads claimed twice: {result['double_claims']}; double dials "
                  f"(overlapping attempts on one number): {result['overlapping']}; claims "
                  f"undone by a deadlock and retried: {result['deadlocks']}")
        await pool.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "DATABASE_URL", "postgresql://127.0.0.1:5432/postgres"))
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--dnc", type=int, default=100_000,
                        help="numbers on the do-not-call list")
    parser.add_argument("--decisions", type=int, default=30_000)
    parser.add_argument("--batch", type=int, default=10,
                        help="leads per claim in the batched run")
    parser.add_argument("--race-attempts", type=int, default=100_000, help="0: no race")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8,
                        help="connections (workers) per process")
    parser.add_argument("--upkeep-dead-rows", type=int, default=10_000,
                        help="the upkeep's vacuum threshold; 0 turns it off")
    return parser.parse_args()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        asyncio.run(race_worker(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])))
    else:
        asyncio.run(main(parse()))
