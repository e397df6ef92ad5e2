"""Records WispHub no longer lists as pending (activated elsewhere, deleted) leave every campaign:
the index sync calls this after each full sync and each one-record refresh."""
from __future__ import annotations

import logging
from collections.abc import Collection

import asyncpg

from common.db.pool import connect
from common.dialer.campaigns import CampaignBook

log = logging.getLogger(__name__)


class CampaignLeadPruner:
    """One short connection per sync (syncs are minutes apart), so nothing stays open."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url

    async def keep_only(self, pending_ids: Collection[str]) -> int:
        if not pending_ids:
            # an empty pending list is far more likely a WispHub hiccup than every record
            # activated at once: campaigns keep their leads until a sync lists some
            log.warning("campaign leads not pruned: WispHub listed no pending records")
            return 0
        return await self._run(lambda book: book.remove_not_pending(pending_ids))

    async def drop(self, preinstallation_id: str) -> int:
        return await self._run(lambda book: book.remove_record(preinstallation_id))

    async def _run(self, work) -> int:
        try:
            conn = await connect(self._url)
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            log.warning("campaign leads not pruned, database unavailable: %s", exc)
            return 0
        try:
            removed = await work(CampaignBook(conn))
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            log.warning("campaign leads not pruned: %s", exc)
            return 0
        finally:
            await conn.close()
        if removed:
            log.info("campaign leads removed (no longer pending in WispHub): %d", removed)
        return removed
