"""Dispositions saved while the campaign still had the lead in 'dialing' (the agent set the
result during the call, or just before the engine closed the attempt): kept in Redis and applied
to the lead as soon as the attempt is closed.

`Keys.dispositions_pending` (call id → next try) and `Keys.dispositions_pending_data` (call id →
what to apply). Every node runs the loop; a ZREM decides which node tries a call now. A newer
save of the same call replaces the data; one applied at once removes it. Given up (logged) after
GIVE_UP_SECONDS: the call record keeps the result either way.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from redis.exceptions import RedisError

from common.dialer.store import Disposition
from common.keys import Keys
from common.tasks import cancel_requested
from screenpop.wrapup.lead import Database, apply_to_lead

log = logging.getLogger(__name__)

RETRY_SECONDS = 2.0
GIVE_UP_SECONDS = 6 * 3600
BATCH = 50
TRY_TIMEOUT = 10.0


@dataclass(frozen=True)
class Pending:
    attempt_id: str
    disposition: str
    effect: str
    callback_at: float | None
    callback_for: str | None
    by: str
    saved_at: float

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str) -> Pending:
        return cls(**json.loads(raw))


class PendingDispositions:
    def __init__(self, redis, keys: Keys, database: Callable[[], Database | None], *,
                 retry: float = RETRY_SECONDS, interval: float = 1.0) -> None:
        self._redis = redis
        self._keys = keys
        self._database = database
        self._retry = retry
        self._interval = interval

    async def add(self, call_id: str, pending: Pending) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._keys.dispositions_pending_data, call_id, pending.to_json())
            pipe.zadd(self._keys.dispositions_pending, {call_id: time.time() + self._retry})
            await pipe.execute()

    async def drop(self, call_id: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self._keys.dispositions_pending, call_id)
            pipe.hdel(self._keys.dispositions_pending_data, call_id)
            await pipe.execute()

    async def run(self) -> None:
        while not cancel_requested():
            try:
                await self.run_once(time.time())
            except (RedisError, OSError, TimeoutError) as exc:
                log.warning("pending dispositions: %s", exc)
            await asyncio.sleep(self._interval)

    async def run_once(self, now: float) -> int:
        """Tries the due ones this node wins; returns how many were applied."""
        db = self._database()
        if db is None:
            return 0
        keys = self._keys
        applied = 0
        for call_id in await self._redis.zrangebyscore(keys.dispositions_pending, "-inf", now,
                                                       start=0, num=BATCH):
            if not await self._redis.zrem(keys.dispositions_pending, call_id):
                continue  # another node took it
            raw = await self._redis.hget(keys.dispositions_pending_data, call_id)
            if raw is None:
                continue
            pending = Pending.from_json(raw)
            try:
                done, state = await asyncio.wait_for(self._apply(db, call_id, pending),
                                                     TRY_TIMEOUT)
            except Exception as exc:  # noqa: BLE001 - database away: try again later
                log.warning("pending disposition not applied call=%s: %s", call_id, exc)
                done, state = False, "dialing"
            if done or state != "dialing" or now - pending.saved_at > GIVE_UP_SECONDS:
                await self._finish(call_id, raw)
                applied += done
                log.info("pending disposition %s call=%s attempt=%s lead=%s",
                         "applied" if done else "dropped", call_id, pending.attempt_id, state)
            else:
                await self._redis.zadd(keys.dispositions_pending,
                                       {call_id: now + self._retry}, nx=True)
        return applied

    async def _apply(self, db: Database, call_id: str, p: Pending) -> tuple[bool, str | None]:
        return await apply_to_lead(
            db, uuid.UUID(p.attempt_id), call_id, disposition=p.disposition,
            effect=Disposition(p.effect), now=datetime.now(UTC),
            callback_at=datetime.fromtimestamp(p.callback_at, UTC) if p.callback_at else None,
            callback_for=p.callback_for, by=p.by)

    async def _finish(self, call_id: str, raw: str) -> None:
        """Removes the data unless a newer save replaced it meanwhile."""
        key = self._keys.dispositions_pending_data
        async with self._redis.pipeline(transaction=True) as pipe:
            await pipe.watch(key)
            if await pipe.hget(key, call_id) != raw:
                await pipe.unwatch()
                return
            pipe.multi()
            pipe.hdel(key, call_id)
            try:
                await pipe.execute()
            except RedisError:
                pass
