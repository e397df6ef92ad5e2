"""Typed app keys of the campaign pages (no module-level state)."""
from __future__ import annotations

import asyncpg
from aiohttp import web

from screenpop.campaigns.live import CampaignLive
from screenpop.campaigns.service import CampaignService

CAMPAIGN_POOL = web.AppKey("campaign_pool", asyncpg.Pool)
CAMPAIGNS = web.AppKey("campaigns", CampaignService)
CAMPAIGN_LIVE = web.AppKey("campaign_live", CampaignLive)
