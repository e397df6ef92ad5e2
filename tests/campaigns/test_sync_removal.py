"""Records WispHub no longer lists as pending leave every campaign (state 'removed') on the
next full sync or one-record refresh, against the WispHub sandbox over HTTP, a real Redis index
and real PostgreSQL; a lead being dialled is left to its call."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from common.dialer.outcomes import Order, Outcome
from common.dialer.store import Campaign, Mode, NewLead
from screenpop.campaigns.pruning import CampaignLeadPruner
from screenpop.config import ScreenpopConfig
from screenpop.index import PreinstallationIndex
from screenpop.sync import IndexSync
from screenpop.wisphub.gateway import create_gateway
from screenpop.wisphub.http import RetryPolicy

ALWAYS = {"windows": {"hours": {d: "00:00-23:59" for d in
                                ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
                      "holidays": False}}


@pytest.fixture
async def gateway(sandbox):
    config = replace(ScreenpopConfig(), wisphub_url=sandbox.url,
                     wisphub_panel_url=sandbox.panel_url, wisphub_timeout=0.5)
    gw = create_gateway(config, policy=RetryPolicy(attempts=3, base=0.01, cap=0.05))
    yield gw
    await gw.aclose()


async def states(pool, campaign_id):
    return {r["preinstallation_id"]: r["state"] for r in await pool.fetch(
        "SELECT preinstallation_id, state FROM dialer_leads WHERE campaign_id = $1",
        campaign_id)}


async def test_records_leave_campaigns_when_no_longer_pending(gateway, sandbox, redis, keys,
                                                              database, store, pool):
    index = PreinstallationIndex(redis, keys)
    sync = IndexSync(gateway, index, interval=60.0, retry_base=0.01,
                     leads=CampaignLeadPruner(database))
    now = datetime.now(UTC)
    for cid in ("a", "b"):
        await store.create_campaign(Campaign(cid, cid, Mode.PROGRESSIVE, Order.AGENT_FIRST, 3,
                                             ALWAYS))
        await store.add_leads(cid, [NewLead("1001", "5512345678"), NewLead("1002", "5587654321"),
                                    NewLead("1003", "5587654322"),
                                    NewLead("9999", "5511110000")], now)
    # 1003 is being dialled in campaign a when it stops being pending
    claims = await store.claim("a", worker="w1", now=now, lease=timedelta(minutes=5),
                               open_zones=await store.open_zones("a", now), limit=4)
    assert sorted(c.preinstallation_id for c in claims) == ["1001", "1002", "1003", "9999"]
    for claim in claims:
        if claim.preinstallation_id != "1003":
            await store.finish(claim, Outcome.BUSY, now)

    assert (await sync.full_sync()).ok
    for cid in ("a", "b"):
        assert (await states(pool, cid))["9999"] == "removed"
        assert (await states(pool, cid))["1001"] == "ready"

    # 1002 activated elsewhere: a one-record refresh takes it out at once
    del sandbox.store.preinstallations[1002]
    assert await sync.refresh_one("1002") is None
    for cid in ("a", "b"):
        assert (await states(pool, cid))["1002"] == "removed"

    del sandbox.store.preinstallations[1003]
    assert (await sync.full_sync()).ok
    assert (await states(pool, "b"))["1003"] == "removed"
    assert (await states(pool, "a"))["1003"] == "dialing"   # its call decides, next sync
    assert (await states(pool, "a"))["1001"] == "ready"


async def test_an_empty_pending_list_removes_nothing(database, store, pool):
    now = datetime.now(UTC)
    await store.create_campaign(Campaign("a", "a", Mode.PROGRESSIVE, Order.AGENT_FIRST, 3,
                                         ALWAYS))
    await store.add_leads("a", [NewLead("1001", "5512345678")], now)
    assert await CampaignLeadPruner(database).keep_only([]) == 0
    assert await states(pool, "a") == {"1001": "ready"}
    assert await CampaignLeadPruner(database).keep_only(["2000"]) == 1


async def test_database_down_does_not_break_the_sync():
    pruner = CampaignLeadPruner("postgresql://127.0.0.1:1/nothing")
    assert await pruner.keep_only(["1"]) == 0
    assert await pruner.drop("1") == 0
