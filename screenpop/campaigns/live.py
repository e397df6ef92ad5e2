"""The supervisors' live campaign view, pushed: one task per node computes every campaign's
progress from PostgreSQL (one query per campaign) and the dialer engine's live figures from
Redis (Keys.dialer_live), every INTERVAL seconds (longer when a round is slow, see LOAD_FACTOR)
while a supervisor's socket is open here, and sends a `campaigns` frame to the supervisors'
sockets when anything changed. With no supervisor connected it does nothing until one connects
or a campaign changes state.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import asyncpg
from redis.exceptions import RedisError

from common.backoff import backoff_delay
from common.dialer.campaigns import STATE_LABELS, CampaignBook, CampaignRow, actions_for
from common.keys import Keys
from common.redisconn import close_pubsub
from common.tasks import cancel_and_wait
from screenpop.campaigns.form import MODE_LABELS
from screenpop.push import protocol
from screenpop.push.hub import AgentSocket, Hub

log = logging.getLogger(__name__)

INTERVAL = 2.0
ROUND_TIMEOUT = 10.0
# a round that takes t seconds waits at least LOAD_FACTOR × t before the next one, so big
# campaigns (a round scans their leads) keep the database at most ~1/LOAD_FACTOR busy
LOAD_FACTOR = 10.0
# the engine's figures (Keys.dialer_live_channel) bring the next round forward, no closer than
# this to the previous one
MIN_GAP = 0.5
COMMAND_TIMEOUT = 5.0
MAX_CAMPAIGNS = 20
# a stopped campaign stays on the supervisor page this long after it stopped
STOPPED_SHOWN = timedelta(hours=12)
LIVE_FIELDS = {"in_flight": int, "dial_ratio": float, "agents_available": int,
               "agents_reserved": int, "agents_on_call": int, "answer_rate": float,
               "abandon_rate_30d": float, "last_error": str, "updated_at": float}


def live_figures(raw: Mapping[str, str]) -> dict | None:
    """The engine's hash as typed values (None when no engine is refreshing it)."""
    if not raw:
        return None
    figures: dict = {}
    for name, kind in LIVE_FIELDS.items():
        value = raw.get(name)
        try:
            figures[name] = kind(value) if value not in (None, "") else None
        except ValueError:
            figures[name] = None
    if figures["last_error"] is not None:
        figures["last_error"] = figures["last_error"][:200] or None
    return figures


def shown(rows: list[CampaignRow], now: datetime) -> list[CampaignRow]:
    keep = [r for r in rows if r.state != "stopped" or now - r.updated_at < STOPPED_SHOWN]
    return keep[:MAX_CAMPAIGNS]


class CampaignLive:
    def __init__(self, hub: Hub, redis, keys: Keys, *, interval: float = INTERVAL) -> None:
        self._hub = hub
        self._redis = redis
        self._keys = keys
        self._interval = interval
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._listener: asyncio.Task | None = None
        self._engine_news = False
        self._latest: str | None = None   # the last frame sent, without its time
        self._latest_text: str | None = None

    async def start(self, pool: asyncpg.Pool) -> None:
        self._task = asyncio.create_task(self._run(CampaignBook(pool)), name="campaign-live")
        self._listener = asyncio.create_task(self._listen(), name="campaign-live-engine")

    async def stop(self) -> None:
        for task in (self._task, self._listener):
            if task is not None:
                await cancel_and_wait(task)
        self._task = self._listener = None

    async def _listen(self) -> None:
        """Wakes the loop when an engine publishes new live figures (reconnects with backoff;
        without it the timer still refreshes them)."""
        attempt = 0
        while True:
            pubsub = self._redis.pubsub()
            try:
                await asyncio.wait_for(pubsub.subscribe(self._keys.dialer_live_channel),
                                       COMMAND_TIMEOUT)
                attempt = 0
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True,
                                                       timeout=1.0)
                    if message is not None and self._hub.has_watchers():
                        self._engine_news = True
                        self._wake.set()
            except (RedisError, OSError, TimeoutError) as exc:
                log.warning("live campaign view: engine channel lost: %s", exc)
            finally:
                await close_pubsub(pubsub, COMMAND_TIMEOUT)
            await asyncio.sleep(backoff_delay(attempt))
            attempt += 1

    def wake(self) -> None:
        """Compute now (a campaign changed, or a supervisor connected)."""
        self._wake.set()

    def welcome(self, sock: AgentSocket) -> None:
        """A supervisor's socket just opened: the last frame at once, a fresh one soon."""
        if self._latest_text is not None:
            sock.offer(json.loads(self._latest_text), self._latest_text)
        self.wake()

    async def _run(self, book: CampaignBook) -> None:
        failures = 0
        while True:
            if not self._hub.has_watchers():
                await self._wake.wait()
            self._wake.clear()
            started = time.monotonic()
            spacing = MIN_GAP
            try:
                async with asyncio.timeout(ROUND_TIMEOUT):
                    await self.push_once(book)
                failures = 0
                spacing = max(MIN_GAP, LOAD_FACTOR * (time.monotonic() - started))
                delay = max(self._interval, spacing)
            except (asyncpg.PostgresError, asyncpg.InterfaceError, RedisError, OSError,
                    TimeoutError) as exc:
                failures += 1
                delay = backoff_delay(failures - 1, base=self._interval, cap=30.0)
                log.warning("live campaign view: %s (next try in %.1fs)", exc, delay)
            try:
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            except TimeoutError:
                pass
            if self._engine_news:  # only the engine's figures changed: keep the spacing
                self._engine_news = False
                await asyncio.sleep(max(0.0, spacing - (time.monotonic() - started)))

    async def snapshot(self, book: CampaignBook, now: datetime | None = None) -> list[dict]:
        now = now or datetime.now(UTC)
        rows = shown(await book.list(), now)
        if not rows:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for row in rows:
                pipe.hgetall(self._keys.dialer_live(row.campaign.campaign_id))
            lives = await pipe.execute()
        items = []
        for row, raw in zip(rows, lives):
            progress = await book.progress(row.campaign.campaign_id, now)
            live = live_figures(raw)
            figures = progress.to_dict()
            if live is not None and live["abandon_rate_30d"] is not None:
                figures["abandon_rate_30d"] = live["abandon_rate_30d"]
            items.append({
                "campaign_id": row.campaign.campaign_id, "name": row.campaign.name,
                "mode": str(row.campaign.mode), "mode_label": MODE_LABELS[row.campaign.mode],
                "state": row.state, "state_label": STATE_LABELS.get(row.state, row.state),
                "actions": [str(a) for a in actions_for(row.state)],
                "agents": list(row.campaign.agents), "progress": figures, "live": live})
        return items

    async def push_once(self, book: CampaignBook) -> bool:
        """Computes the frame and sends it to the supervisors here when it changed."""
        items = await self.snapshot(book)
        body = json.dumps(items, sort_keys=True, default=str)
        if body == self._latest:
            return False
        self._latest = body
        frame = protocol.campaigns(items, at=datetime.now(UTC).timestamp())
        self._latest_text = json.dumps(frame, default=str)
        self._hub.deliver_watchers(frame, self._latest_text)
        return True
