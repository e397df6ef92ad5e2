"""Call updates → Redis: the latest state of each call, the calls at each agent endpoint, and the
call bus. Runs as its own task so Redis never slows the AMI read loop.

While Redis answers, every update is written in the order it was submitted, as many as are
waiting in one round trip (a burst costs one round trip, not one per update). While Redis does
not answer, only the latest update of each call is kept (bounded) and written once Redis is back,
retried with capped backoff: the envelope carries the whole picture, so the latest one is enough.

The calls a node published as live are listed in Redis (``Keys.telephony_live_calls``). After
each resync the publisher ends, from their last stored envelope, the listed calls the tracker no
longer holds: calls that ended while this node was disconnected or not running at all, which would
otherwise stay answered on every page until their state expires.
"""
from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Collection

from redis.asyncio import Redis

from common.backoff import backoff_delay
from common.callstate import queue_call_update
from common.envelope import CallUpdate, EnvelopeError
from common.keys import CALL_STATE_TTL_SECONDS, Keys
from common.tasks import cancel_and_wait, cancel_requested, wait_set
from telephony.tracker import ended_while_away

log = logging.getLogger(__name__)

REDIS_TIMEOUT = 2.0
BATCH_LIMIT = 500  # updates per round trip


class CallPublisher:
    def __init__(self, redis: Redis, keys: Keys, *, node: str, max_pending: int = 50_000,
                 retry_base: float = 0.2, retry_cap: float = 10.0,
                 on_published: Callable[[CallUpdate, float], None] | None = None,
                 rand: random.Random | None = None) -> None:
        self._redis = redis
        self._keys = keys
        self._live_key = keys.telephony_live_calls(node)
        self._reconcile: Callable[[], Collection[str]] | None = None
        self._max_pending = max_pending
        self._retry_base = retry_base
        self._retry_cap = retry_cap
        self._on_published = on_published
        self.on_written: Callable[[], None] | None = None  # after each write to Redis
        self._writing = False
        self._rand = rand or random.Random()
        self._pending: deque[tuple[CallUpdate, float]] = deque()
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task | None = None
        self.published = 0
        self.ended_while_away = 0  # calls ended because Asterisk no longer had them at a resync
        self.discarded = 0  # calls forgotten to keep the backlog bounded while Redis was away
        self.redis_ok = True
        self.last_error: str | None = None

    @property
    def backlog(self) -> int:
        return len(self._pending)

    def busy(self) -> bool:
        """Updates are waiting or being written."""
        return bool(self._pending) or self._writing

    def submit(self, update: CallUpdate) -> None:
        """Never blocks and never raises."""
        self._pending.append((update, time.monotonic()))
        if len(self._pending) > self._max_pending:
            self._compact()
        self._idle.clear()
        self._wakeup.set()

    def request_reconcile(self, live_call_ids: Callable[[], Collection[str]]) -> None:
        """After a resync: end the calls this node listed as live that are not in
        ``live_call_ids()`` (read when Redis is written, so calls that start meanwhile count)."""
        self._reconcile = live_call_ids
        self._idle.clear()
        self._wakeup.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="call-publisher")

    async def flush(self, timeout: float) -> bool:
        """Wait until everything submitted is written; False if that took longer than timeout."""
        return await wait_set(self._idle, timeout)

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        failures = 0
        while not cancel_requested():
            if self._reconcile is not None:
                try:
                    await asyncio.wait_for(self._end_missing(self._reconcile), REDIS_TIMEOUT)
                    self._reconcile = None
                    failures = 0
                    self.redis_ok = True
                except Exception as exc:  # noqa: BLE001 - any Redis/network failure: retry later
                    failures += 1
                    self._mark_down(exc)
                    await asyncio.sleep(backoff_delay(failures - 1, base=self._retry_base,
                                                      cap=self._retry_cap, rand=self._rand))
                    continue
            if not self._pending:
                self._idle.set()
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = [self._pending.popleft()
                     for _ in range(min(BATCH_LIMIT, len(self._pending)))]
            self._writing = True
            try:
                async with asyncio.timeout(REDIS_TIMEOUT):  # no task of its own: sent at once
                    await self._write([update for update, _ in batch])
            except Exception as exc:  # noqa: BLE001 - any Redis/network failure: keep the updates, retry later
                self._writing = False
                self._pending.extendleft(reversed(batch))
                failures += 1
                self._mark_down(exc)
                await asyncio.sleep(backoff_delay(failures - 1, base=self._retry_base,
                                                  cap=self._retry_cap, rand=self._rand))
                self._compact()
                continue
            self._writing = False
            if failures:
                log.info("Redis back; publishing backlog=%d", len(self._pending))
            failures = 0
            self.redis_ok = True
            self.published += len(batch)
            if self._on_published is not None:
                now = time.monotonic()
                for update, submitted in batch:
                    self._on_published(update, now - submitted)
            if self.on_written is not None:
                self.on_written()

    async def _end_missing(self, live_call_ids: Callable[[], Collection[str]]) -> None:
        listed = sorted(await self._redis.smembers(self._live_key))
        if not listed:
            return
        # a call with an update still waiting here is not lost: that update says how it is
        live = set(live_call_ids()) | {update.call_id for update, _ in self._pending}
        missing = [call_id for call_id in listed if call_id not in live]
        now = time.time()
        for start in range(0, len(missing), BATCH_LIMIT):
            chunk = missing[start:start + BATCH_LIMIT]
            stored = await self._redis.mget([self._keys.call(call_id) for call_id in chunk])
            ended, forgotten = [], []
            for call_id, raw in zip(chunk, stored):
                try:
                    last = CallUpdate.from_json(raw) if raw is not None else None
                except EnvelopeError:
                    last = None
                if last is None or last.state == "ended":
                    forgotten.append(call_id)  # expired or already ended: nothing to tell
                else:
                    ended.append(ended_while_away(last, now))
            if forgotten:
                await self._redis.srem(self._live_key, *forgotten)
            if ended:
                await self._write(ended)
                self.ended_while_away += len(ended)
                log.info("calls ended while telephony was away count=%d ids=%s", len(ended),
                         ",".join(u.call_id for u in ended[:20]))

    async def _write(self, updates: list[CallUpdate]) -> None:
        """One transaction: readers never see a call's state without its endpoint sets."""
        async with self._redis.pipeline(transaction=True) as pipe:
            for update in updates:
                queue_call_update(pipe, self._keys, update)
                if update.state == "ended":
                    pipe.srem(self._live_key, update.call_id)
                else:
                    pipe.sadd(self._live_key, update.call_id)
            pipe.expire(self._live_key, CALL_STATE_TTL_SECONDS)
            await pipe.execute()

    def _mark_down(self, exc: BaseException) -> None:
        reason = f"{type(exc).__name__}: {exc}"[:200]
        if self.redis_ok:
            log.warning("Redis unavailable for call updates (%s); keeping latest per call", reason)
        self.redis_ok = False
        self.last_error = reason

    def _compact(self) -> None:
        """Keep only the latest update of each call; past the bound, forget ended calls before
        live ones, oldest first."""
        latest: OrderedDict[str, tuple[CallUpdate, float]] = OrderedDict()
        for item in self._pending:
            latest[item[0].call_id] = item
            latest.move_to_end(item[0].call_id)
        overflow = len(latest) - self._max_pending
        if overflow > 0:
            self.discarded += overflow
            ended = [cid for cid, (update, _) in latest.items() if update.state == "ended"]
            for call_id in ended[:overflow]:
                del latest[call_id]
            overflow -= min(overflow, len(ended))
            for _ in range(overflow):
                latest.popitem(last=False)
        self._pending = deque(latest.values())


class Heartbeat:
    """Refreshes ``keys.telephony_heartbeat(node)`` so others can tell the listener is alive."""

    def __init__(self, redis: Redis, keys: Keys, node: str,
                 status: Callable[[], tuple[str, int]], *, interval: float = 5.0) -> None:
        self._redis = redis
        self._key = keys.telephony_heartbeat(node)
        self._status = status  # () -> (AMI state, events received)
        self._interval = interval
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="telephony-heartbeat")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def beat(self) -> None:
        state, events = self._status()
        body = json.dumps({"ami": state, "at": time.time(), "events": events})
        await asyncio.wait_for(
            self._redis.set(self._key, body, px=int(self._interval * 3000)), REDIS_TIMEOUT)

    async def _run(self) -> None:
        while not cancel_requested():
            try:
                await self.beat()
            except Exception as exc:  # noqa: BLE001 - Redis away: the key expires, which is the signal
                log.debug("heartbeat not written: %r", exc)
            await asyncio.sleep(self._interval)
