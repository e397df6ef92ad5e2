"""A dialer process for the race tests: `python -m tests.dialer.race_worker URL CAMPAIGN NOW
WORKER MODE`. MODE `race` claims and finishes leads until none is ready or dialing; MODE `hang`
claims up to 20 leads, prints their ids and waits to be killed (a dialer dying mid-call)."""
from __future__ import annotations

import asyncio
import random
import sys
from datetime import datetime, timedelta

from common.db.pool import create_pool
from common.dialer.outcomes import Outcome
from common.dialer.store import DialerStore

LEASE = timedelta(minutes=5)


async def main(url: str, campaign_id: str, now_iso: str, worker: str, mode: str) -> None:
    now = datetime.fromisoformat(now_iso)
    pool = await create_pool(url, min_size=2, max_size=4, reset_sessions=False)
    store = DialerStore(pool, default_zone="America/Mexico_City")
    zones = await store.open_zones(campaign_id, now)
    rng = random.Random(worker)
    try:
        if mode == "hang":
            claims = await store.claim(campaign_id, worker=worker, now=now, lease=LEASE,
                                       open_zones=zones, limit=20)
            print(" ".join(str(c.lead_id) for c in claims), flush=True)
            await asyncio.sleep(3600)
        claimed = 0
        while True:
            claims = await store.claim(campaign_id, worker=worker, now=now, lease=LEASE,
                                       open_zones=zones, limit=rng.randint(1, 4))
            if not claims:
                left = await pool.fetchval("SELECT count(*) FROM dialer_leads WHERE campaign_id "
                                           "= $1 AND state IN ('ready', 'dialing')", campaign_id)
                if left == 0:
                    break
                await asyncio.sleep(0.005)
                continue
            # the calls of one claim end together: their outcomes go in one statement
            assert all(await store.finish_many([(c, Outcome.NO_ANSWER) for c in claims], now))
            claimed += len(claims)
        print(claimed, flush=True)
    finally:
        await pool.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
