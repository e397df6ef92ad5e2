"""Keeping the preinstallation index in step with WispHub: full syncs on a schedule, one record
on demand. A failed sync leaves the previous index in place and records why."""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass

from common.backoff import backoff_delay
from screenpop.index import PreinstallationIndex
from screenpop.wisphub.errors import WispHubError
from screenpop.wisphub.gateway import WispHubGateway
from screenpop.wisphub.models import Preinstallation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncReport:
    count: int
    duration: float
    errors: tuple[str, ...] = ()
    skipped: bool = False  # another node had synced within the interval

    @property
    def ok(self) -> bool:
        return not self.errors


class IndexSync:
    def __init__(self, gateway: WispHubGateway, index: PreinstallationIndex, interval: float, *,
                 source: str = "wisphub-panel", retry_base: float = 5.0) -> None:
        self._gateway = gateway
        self._index = index
        self._interval = interval
        self._source = source
        self._retry_base = retry_base
        self.last_report: SyncReport | None = None
        self._owner = uuid.uuid4().hex

    async def full_sync(self) -> SyncReport:
        started = time.monotonic()
        try:
            records = await self._gateway.pending_preinstallations()
            await self._index.replace_all(records, source=self._source)
        except WispHubError as exc:
            log.warning("wisphub sync failed, index kept error=%s", exc)
            await self._index.record_failure(str(exc))
            report = SyncReport(0, time.monotonic() - started, (str(exc),))
        else:
            report = SyncReport(len(records), time.monotonic() - started)
            log.info("wisphub sync done count=%d seconds=%.2f", report.count, report.duration)
        self.last_report = report
        return report

    async def refresh_one(self, preinstallation_id: str) -> Preinstallation | None:
        """Re-read one record; one that is no longer pending leaves the index."""
        record = await self._gateway.preinstallation(preinstallation_id)
        if record is None:
            await self._index.remove(preinstallation_id)
        else:
            await self._index.upsert(record)
        return record

    async def scheduled_sync(self) -> SyncReport:
        """A full sync unless another node sharing this index synced within the interval: a
        successful sync keeps the turn for most of the interval, a failed one gives it back."""
        if not await self._index.claim_sync(self._owner, self._interval * 0.9):
            self.last_report = SyncReport(0, 0.0, skipped=True)
            return self.last_report
        report = await self.full_sync()
        if not report.ok:
            await self._index.release_sync(self._owner)
        return report

    async def run(self, stop: asyncio.Event) -> None:
        """Sync now, then every `interval`; after failures, sooner, with capped backoff."""
        failures = 0
        while not stop.is_set():
            report = await self.scheduled_sync()
            failures = 0 if report.ok else failures + 1
            delay = (self._interval if report.ok else
                     backoff_delay(failures - 1, base=self._retry_base, cap=self._interval))
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except TimeoutError:
                pass
