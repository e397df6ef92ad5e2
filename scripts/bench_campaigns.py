"""Campaign pages benchmark: one campaign with N leads (default 200,000) and N/2 attempts over
the last 12 hours, in a database of its own on DATABASE_URL's server. Measures what the live
supervisor view runs every 2 s per campaign (CampaignBook.progress: one query) p50/p99, the
filter's contact-history look-up for 5,000 records, and the sync's removal of records no longer
pending (every lead checked against the pending list).

    .venv/bin/python scripts/bench_campaigns.py [--leads 200000] [--runs 50]

Not a test: it prints figures (the README's campaign section quotes them).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.db.migrations import load_migrations, migrate
from common.db.pool import create_pool
from common.dialer.campaigns import ACTIVATED_DISPOSITIONS, PROGRESS, CampaignBook

FILL = """
INSERT INTO dialer_leads (campaign_id, preinstallation_id, phone, time_zone, state, next_at,
                          attempts, last_conversation_at)
SELECT 'bench', i::text, '+5255' || lpad(i::text, 8, '0'), 'America/Mexico_City',
       (ARRAY['ready', 'ready', 'ready', 'done', 'exhausted', 'blocked'])[1 + i % 6],
       now(), i % 4, CASE WHEN i % 5 = 0 THEN now() - interval '1 hour' END
FROM generate_series(1, $1::int) AS i
"""
ATTEMPTS = """
INSERT INTO dialer_attempts (attempt_id, lead_id, campaign_id, phone, claimed_by, started_at,
                             ended_at, outcome, answered, abandoned, disposition)
SELECT gen_random_uuid(), l.lead_id, 'bench', l.phone, 'w1',
       now() - (random() * interval '12 hours'), now(),
       (ARRAY['connected', 'no_answer', 'busy', 'failed'])[1 + l.lead_id % 4],
       l.lead_id % 4 = 0, l.lead_id % 97 = 0,
       CASE WHEN l.lead_id % 40 = 0 THEN 'activado' WHEN l.lead_id % 4 = 0 THEN 'interesado' END
FROM dialer_leads l WHERE l.lead_id % 2 = 0
"""


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


async def run(url: str, args) -> None:
    conn = await asyncpg.connect(url, timeout=10, command_timeout=3600)
    await migrate(conn, load_migrations())
    started = time.perf_counter()
    await conn.execute("INSERT INTO dialer_campaigns (campaign_id, name, mode, state) VALUES "
                       "('bench', 'Bench', 'progressive', 'running')")
    await conn.execute(FILL, args.leads)
    await conn.execute(ATTEMPTS)
    await conn.execute("ANALYZE")
    print(f"filled {args.leads:,} leads and {args.leads // 2:,} attempts in "
          f"{time.perf_counter() - started:.1f} s")
    await conn.close()
    pool = await create_pool(url, max_size=2)
    book = CampaignBook(pool)
    now = datetime.now(UTC)
    for _ in range(3):
        await book.progress("bench", now)
    if args.explain:
        plan = await pool.fetch("EXPLAIN (ANALYZE, BUFFERS) " + PROGRESS, "bench",
                                list(ACTIVATED_DISPOSITIONS), now - timedelta(hours=12),
                                now - timedelta(days=30))
        print("\n".join(row[0] for row in plan))
    timings = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        progress = await book.progress("bench", now)
        timings.append((time.perf_counter() - t0) * 1000)
    print(f"progress (one query): p50 {statistics.median(timings):.1f} ms, "
          f"p99 {percentile(timings, 0.99):.1f} ms over {args.runs} runs "
          f"(total {progress.total:,}, {len(progress.hourly)} hours)")
    ids = [str(i) for i in range(1, args.leads + 1, max(1, args.leads // 5000))][:5000]
    timings = []
    for _ in range(max(5, args.runs // 5)):
        t0 = time.perf_counter()
        await book.contacts(ids)
        timings.append((time.perf_counter() - t0) * 1000)
    print(f"contact history of {len(ids):,} records: p50 {statistics.median(timings):.1f} ms, "
          f"p99 {percentile(timings, 0.99):.1f} ms")
    pending = [str(i) for i in range(1, args.leads + 1) if i % 100]
    t0 = time.perf_counter()
    removed = await book.remove_not_pending(pending)
    print(f"sync removal against {len(pending):,} pending ids: {removed:,} leads removed in "
          f"{(time.perf_counter() - t0) * 1000:.0f} ms")
    await pool.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--explain", action="store_true", help="print the progress query's plan")
    args = parser.parse_args()
    server = os.environ.get("DATABASE_URL", "postgresql://127.0.0.1:5432/postgres")
    name = f"campaign_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server, timeout=10)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await run(f"{server.rpartition('/')[0]}/{name}", args)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
