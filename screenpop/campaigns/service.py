"""Creating, editing and starting campaigns, shared by the pages and the CLI: the records come
from the preinstallation index (Redis) filtered with PostgreSQL's contact history, the leads go
in through DialerStore.add_leads, and every change is announced on Keys.dialer_control_channel
so the dialer engines re-read the campaign at once."""
from __future__ import annotations

import logging
import re
import secrets
import unicodedata
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import asyncpg

from common.dialer.campaigns import Action, CampaignBook, CampaignRow
from common.dialer.store import Campaign, DialerStore, LeadImport
from common.keys import Keys
from screenpop.campaigns import filters
from screenpop.campaigns.filters import RecordFilter
from screenpop.campaigns.form import CampaignForm
from screenpop.index import PreinstallationIndex
from screenpop.wisphub.models import Preinstallation

log = logging.getLogger(__name__)

BAD_PHONES_KEPT = 50


@dataclass(frozen=True)
class ImportSummary:
    added: int
    already_there: int
    blocked_by_dnc: int
    bad_phones: tuple[tuple[str, str], ...]   # (preinstallation id, phone as WispHub has it)
    at: str

    @classmethod
    def of(cls, report: LeadImport, now: datetime) -> ImportSummary:
        return cls(report.added, report.already_there, report.blocked_by_dnc,
                   tuple(report.bad_phones[:BAD_PHONES_KEPT]), now.isoformat())

    def to_dict(self) -> dict:
        data = asdict(self)
        data["bad_phones"] = [list(p) for p in self.bad_phones]
        return data

    @classmethod
    def from_dict(cls, data: dict | None) -> ImportSummary | None:
        if not data:
            return None
        return cls(int(data.get("added", 0)), int(data.get("already_there", 0)),
                   int(data.get("blocked_by_dnc", 0)),
                   tuple(tuple(p) for p in data.get("bad_phones") or ()), str(data.get("at")))


def new_campaign_id(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name)
    slug = re.sub(r"[^a-z0-9]+", "-", "".join(c for c in plain if not unicodedata.combining(c))
                  .lower()).strip("-")[:40] or "campana"
    return f"{slug}-{secrets.token_hex(2)}"


class CampaignService:
    def __init__(self, pool: asyncpg.Pool, redis, keys: Keys, index: PreinstallationIndex, *,
                 default_zone: str) -> None:
        self._pool = pool
        self._redis = redis
        self._keys = keys
        self._index = index
        self._default_zone = default_zone
        self.book = CampaignBook(pool)

    def _store(self, campaign: Campaign) -> DialerStore:
        # a store per use: it caches the campaign's rules, which an edit changes
        zone = str(campaign.settings.get("time_zone") or self._default_zone)
        return DialerStore(self._pool, default_zone=zone)

    async def pending_records(self) -> list[Preinstallation]:
        records = await self._index.all()
        installed = {key for key in await self._redis.hkeys(self._keys.index_installed)}
        return filters.pending(records, installed)

    async def candidates(self, flt: RecordFilter, now: datetime) -> list[Preinstallation]:
        records = [r for r in await self.pending_records() if filters.matches(r, flt, now)]
        if not flt.needs_contacts or not records:
            return records
        contacts = await self.book.contacts([r.id for r in records])
        return filters.select(records, flt, now, contacts)

    async def create(self, form: CampaignForm, now: datetime | None = None,
                     campaign_id: str | None = None) -> tuple[Campaign, ImportSummary]:
        now = now or datetime.now(UTC)
        campaign = form.campaign(campaign_id or new_campaign_id(form.name))
        await self._store(campaign).create_campaign(campaign)
        summary = await self._add_leads(campaign, form.record_filter, now)
        log.info("campaign created id=%s leads_added=%d", campaign.campaign_id, summary.added)
        await self.announce(campaign.campaign_id)
        return campaign, summary

    async def update(self, campaign_id: str, form: CampaignForm,
                     now: datetime | None = None) -> tuple[Campaign, ImportSummary] | None:
        """New settings, and the filter's records that are not in the campaign yet."""
        now = now or datetime.now(UTC)
        campaign = form.campaign(campaign_id)
        if not await self.book.update(campaign):
            return None
        await self.book.reschedule_untried(campaign_id, now)
        summary = await self._add_leads(campaign, form.record_filter, now)
        await self.announce(campaign_id)
        return campaign, summary

    async def _add_leads(self, campaign: Campaign, flt: RecordFilter,
                         now: datetime) -> ImportSummary:
        records = await self.candidates(flt, now)
        report = await self._store(campaign).add_leads(
            campaign.campaign_id, [filters.new_lead(r) for r in records], now)
        summary = ImportSummary.of(report, now)
        await self.book.merge_settings(campaign.campaign_id, {"last_import": summary.to_dict()})
        return summary

    async def change(self, campaign_id: str, action: Action) -> tuple[str, bool]:
        """Raises LookupError / common.dialer.campaigns.TransitionError (Spanish messages)."""
        state, changed = await self.book.change_state(campaign_id, action)
        if changed:
            log.info("campaign %s id=%s state=%s", action, campaign_id, state)
            await self.announce(campaign_id)
        return state, changed

    async def announce(self, campaign_id: str) -> None:
        """Tell every dialer engine to re-read the campaign."""
        await self._redis.publish(self._keys.dialer_control_channel, campaign_id)

    async def get(self, campaign_id: str) -> CampaignRow | None:
        return await self.book.get(campaign_id)
