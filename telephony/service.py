"""The telephony process: AMI listener → call tracker → publisher, with /status and /metrics.

    service = create_service(config, redis=redis)
    await service.start(); ...; await service.stop()

Events are fed to the tracker as they are read, inside the read path (the tracker is pure and
the publisher never blocks), so when the service falls behind, the backlog waits in the socket
as bytes, not in the process as parsed events.

Shutdown order: stop reading AMI (log off), flush the publisher, stop the heartbeat, close the
HTTP endpoint. The Redis client belongs to the caller.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from redis.asyncio import Redis

from common.keys import Keys
from common.records.offload import WriterProcess, writer_for
from common.records.writer import FactSink, WriterMetrics
from telephony.ami.frames import NOISE_EVENTS
from telephony.ami.listener import AmiListener, Resync
from telephony.channels import EndpointMatcher
from telephony.config import TelephonyConfig
from telephony.dialer.originate import OriginateExecutor, OriginateSettings
from telephony.dialer.queue_callbacks import CallbackDispatcher, CallbackSettings, ExecutorPlacer
from telephony.dialer.runtime import Dialer, DialerFeed
from telephony.ivr import Ivr, create_ivr
from telephony.publisher import CallPublisher, Heartbeat
from telephony.queue_waits import QueueWaits, QueueWaitsFeed
from telephony.records import (
    CallRecorder,
    Later,
    RecordingFeed,
    RecordingPublisher,
    inline_recorder,
    recorder_spec,
)
from telephony.tracker import CallTracker

log = logging.getLogger(__name__)

FLUSH_TIMEOUT = 3.0
REDIS_CHECK_TIMEOUT = 1.0

_BUCKETS = {
    **dict.fromkeys(("Newchannel", "Newstate", "Hangup", "HangupRequest", "SoftHangupRequest",
                     "NewCallerid", "NewConnectedLine", "Rename", "Hold", "Unhold",
                     "SwapUniqueid"), "channel"),
    **dict.fromkeys(("BlindTransfer", "AttendedTransfer"), "transfer"),
    **dict.fromkeys(NOISE_EVENTS, "noise"),
    **dict.fromkeys(("FullyBooted", "Shutdown", "Reload", "SuccessfulAuth"), "system"),
}
_PREFIX_BUCKETS = (("Dial", "dial"), ("Bridge", "bridge"), ("Queue", "queue"),
                   ("Agent", "queue"), ("Local", "channel"))


def event_bucket(name: str) -> str:
    """A few stable label values for the events-by-type metric (event names are open-ended)."""
    bucket = _BUCKETS.get(name)
    if bucket is not None:
        return bucket
    for prefix, label in _PREFIX_BUCKETS:
        if name.startswith(prefix):
            return label
    return "other"


class TrackerFeed:
    """The listener's sink: each AMI item → the call tracker → the publisher, on the spot and in
    stream order. Never raises (it runs inside panoramisk's read path)."""

    def __init__(self, tracker: CallTracker, publisher: CallPublisher, *,
                 on_resync: Callable[[], None] | None = None) -> None:
        self._tracker = tracker
        self._publisher = publisher
        self._on_resync = on_resync
        self.event_counts: Counter[str] = Counter()
        self.errors = 0

    def put_nowait(self, item: dict[str, str] | Resync) -> None:
        try:
            if isinstance(item, Resync):
                updates = self._tracker.resync(item.channels)
                log.info("resync channels=%d updates=%d", len(item.channels), len(updates))
                if self._on_resync is not None:
                    self._on_resync()
            else:
                self.event_counts[event_bucket(item.get("Event", ""))] += 1
                updates = self._tracker.feed(item)
        except Exception:
            self.errors += 1
            log.exception("call tracker failed on %.200r", item)
            return
        for update in updates:
            self._publisher.submit(update)


class TelephonyService:
    def __init__(self, config: TelephonyConfig, *, redis: Redis, listener: AmiListener,
                 feed: TrackerFeed, tracker: CallTracker, publisher: CallPublisher,
                 heartbeat: Heartbeat, registry: CollectorRegistry,
                 records: FactSink | None = None) -> None:
        self.config = config
        self.redis = redis
        self.listener = listener
        self.tracker = tracker
        self.publisher = publisher
        self.registry = registry
        self._feed = feed
        self._heartbeat = heartbeat
        self.records = records
        self._runner: web.AppRunner | None = None
        self.status_port: int | None = None
        self.ivr: Ivr | None = None  # FastAGI IVR, set by create_service
        self.dialer: Dialer | None = None  # Originate executor and engine, set by create_service
        self.callbacks: CallbackDispatcher | None = None  # queue callbacks, when configured

    async def start(self) -> None:
        self._runner = web.AppRunner(self._status_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.status_host, self.config.status_port)
        await site.start()
        self.status_port = self._runner.addresses[0][1]
        self.publisher.start()
        if self.records is not None:
            self.records.start()
        self._heartbeat.start()
        self.listener.start()
        if self.ivr is not None:  # FastAGI IVR
            await self.ivr.start()
        if self.dialer is not None:
            await self.dialer.start()
        if self.callbacks is not None:
            self.callbacks.start()
        log.info("telephony started node=%s ami=%s:%s status=http://%s:%s/status",
                 self.config.node_name, self.config.ami_host, self.config.ami_port,
                 self.config.status_host, self.status_port)

    async def stop(self) -> None:
        if self.callbacks is not None:
            await self.callbacks.stop()
        if self.dialer is not None:
            await self.dialer.stop()
        if self.ivr is not None:  # FastAGI IVR
            await self.ivr.stop()
        await self.listener.stop()
        if not await self.publisher.flush(FLUSH_TIMEOUT):
            log.warning("telephony stopping with unpublished call updates backlog=%d",
                        self.publisher.backlog)
        await self.publisher.stop()
        if self.records is not None:
            await self.records.stop(FLUSH_TIMEOUT)
        await self._heartbeat.stop()
        with contextlib.suppress(Exception):
            await self._heartbeat.beat()  # last word: the AMI state is now "disconnected"
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        log.info("telephony stopped node=%s", self.config.node_name)

    # --- HTTP: /status and /metrics ---------------------------------------------------------
    def _status_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/status", self._status)
        app.router.add_get("/metrics", self._metrics)
        return app

    async def _status(self, request: web.Request) -> web.Response:
        redis_error = None
        try:
            await asyncio.wait_for(self.redis.ping(), REDIS_CHECK_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - /status reports any failure
            redis_error = f"{type(exc).__name__}: {exc}"[:200]
        ami_ok = self.listener.connected
        body = {
            "ok": ami_ok and redis_error is None,
            "node": self.config.node_name,
            "ami": {"ok": ami_ok, "state": self.listener.state,
                    "host": f"{self.config.ami_host}:{self.config.ami_port}",
                    "last_error": self.listener.last_error},
            "redis": {"ok": redis_error is None, "error": redis_error},
            "publisher": {"backlog": self.publisher.backlog, "redis_ok": self.publisher.redis_ok,
                          "last_error": self.publisher.last_error},
        }
        if self.dialer is not None:
            body["dialer"] = self.dialer.status()
        return web.json_response(body, status=200 if body["ok"] else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(self.registry),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    def collect(self) -> Iterator[Metric]:
        """Read at scrape time from the parts' own counters (nothing to keep in step)."""
        stats = self.listener.stats
        events = CounterMetricFamily("telephony_ami_events", "AMI events received, by type",
                                     labels=["type"])
        for bucket, count in sorted(self._feed.event_counts.items()):
            events.add_metric([bucket], count)
        yield events
        for name, doc, value in (
            ("telephony_call_updates_published", "Call updates written to Redis", self.publisher.published),
            ("telephony_call_updates_discarded", "Call updates forgotten while Redis was away", self.publisher.discarded),
            ("telephony_calls_ended_while_away", "Calls ended at a resync because Asterisk no longer had them",
             self.publisher.ended_while_away),
            ("telephony_ami_reconnects", "AMI reconnection attempts", stats.reconnects),
            ("telephony_ami_ping_timeouts", "AMI pings unanswered in time", stats.ping_timeouts),
            ("telephony_ami_auth_failures", "AMI logins refused or unanswered", stats.auth_failures),
            ("telephony_ami_pbx_restarts", "AMI logins refused or sessions ended by Asterisk shutting down",
             stats.pbx_restarts),
            ("telephony_ami_bad_frames", "AMI frames skipped as oversized or malformed",
             stats.oversized_frames + stats.malformed_frames),
            ("telephony_tracker_errors", "Events the call tracker failed on", self._feed.errors),
        ):
            yield CounterMetricFamily(name, doc, value=value)
        for name, doc, value in (
            ("telephony_ami_connected", "1 while logged in to AMI", int(self.listener.connected)),
            ("telephony_publish_backlog", "Call updates waiting for Redis", self.publisher.backlog),
            ("telephony_live_calls", "Calls the tracker holds", len(self.tracker.live_calls())),
        ):
            yield GaugeMetricFamily(name, doc, value=value)


def create_service(config: TelephonyConfig, *, redis: Redis, retry_base: float = 0.5,
                   retry_cap: float = 30.0, heartbeat_interval: float = 5.0,
                   database_url: str | None = None, call_records: bool = True,
                   records: FactSink | None = None) -> TelephonyService:
    """`database_url` is the dialer's database. Call records go to `records`, else (with
    `call_records`) to a writer on `database_url`, else nowhere."""
    keys = Keys(prefix=config.redis_prefix)
    registry = CollectorRegistry()
    latency = Histogram("telephony_publish_latency_seconds",
                        "From a call update leaving the tracker to Redis confirming it",
                        buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0),
                        registry=registry)
    matcher = EndpointMatcher(config.agent_endpoint_patterns)
    tracker = CallTracker(matcher)
    records = records or writer_for(
        database_url if call_records else None, "telephony",
        recorder_spec(config.agent_endpoint_patterns, node=config.node_name,
                      tz_name=config.tz_name))
    publisher = CallPublisher(redis, keys, node=config.node_name,
                              on_published=lambda _update, secs: latency.observe(secs))
    observe = None
    if isinstance(records, WriterProcess) and records.recorder is not None:
        observe = records.observe  # the recorder runs in the record worker
    elif records is not None:  # a writer given in this process: the recorder runs here too
        later = Later(busy=publisher.busy)
        publisher.on_written = later.release
        observe = inline_recorder(CallRecorder(records.submit, matcher, node=config.node_name,
                                               tz_name=config.tz_name), later)
    feed = TrackerFeed(tracker, RecordingPublisher(publisher, observe) if observe
                       else publisher,
                       on_resync=lambda: publisher.request_reconcile(tracker.live_call_ids))
    sink = RecordingFeed(feed, observe, tracker.live_call_ids, time.time) if observe else feed
    listener = AmiListener(config, sink, retry_base=retry_base, retry_cap=retry_cap)
    executor = OriginateExecutor(listener, OriginateSettings(trunk=config.dialer_trunk))
    waits = QueueWaits()
    listener.sink = DialerFeed(executor, QueueWaitsFeed(waits, sink))
    listener.on_state = executor.ami_state
    heartbeat = Heartbeat(redis, keys, config.node_name,
                          lambda: (listener.state, listener.stats.events),
                          interval=heartbeat_interval)
    service = TelephonyService(config, redis=redis, listener=listener, feed=feed,
                               tracker=tracker, publisher=publisher, heartbeat=heartbeat,
                               registry=registry, records=records)
    registry.register(service)
    service.ivr = create_ivr(config, redis=redis)  # FastAGI IVR
    registry.register(service.ivr)
    service.dialer = Dialer(config, redis=redis, keys=keys, executor=executor,
                            database_url=database_url,
                            records=records.submit if records is not None else None,
                            registry=registry)
    registry.register(service.dialer)
    if config.callback_queues:
        service.callbacks = CallbackDispatcher(
            redis, keys, ExecutorPlacer(executor, ring_seconds=config.dialer_ring_seconds),
            waits, CallbackSettings(queues=dict(config.callback_queues),
                                    attempts=config.callback_attempts,
                                    retry_delay=config.callback_retry_seconds,
                                    interval=config.callback_interval),
            worker=config.dialer_name)
        registry.register(service.callbacks)
    if records is not None:
        registry.register(WriterMetrics(records, "telephony"))
    return service
