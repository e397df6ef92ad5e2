"""The dialer inside the telephony process: the Originate executor on the AMI session, and the
engine once PostgreSQL answers (connected with backoff, so a database that is down at start-up
never keeps telephony from starting), with its /status part and its /metrics."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import asyncpg
from prometheus_client import Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from common.backoff import backoff_delay
from common.dialer.outcomes import Outcome
from common.dialer.store import DialerStore
from common.dialer.upkeep import LeadQueueUpkeep
from common.keys import Keys
from common.records.facts import Fact
from common.records.writer import pool_connector
from telephony.ami.listener import Resync
from telephony.config import TelephonyConfig
from telephony.dialer.engine import DialerEngine, EngineSettings
from telephony.dialer.originate import OriginateExecutor
from telephony.dialer.pacing import PacingSettings

log = logging.getLogger(__name__)

POOL_SIZE = 4  # claims, finishes, lease renewals and the upkeep at once
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0)


class DialerFeed:
    """The listener's sink: each AMI item to the executor's attempts, then to the rest."""

    def __init__(self, executor: OriginateExecutor, inner) -> None:
        self._executor = executor
        self._inner = inner

    def put_nowait(self, item: dict[str, str] | Resync) -> None:
        self._executor.put_nowait(item)
        self._inner.put_nowait(item)


class Dialer:
    def __init__(self, config: TelephonyConfig, *, redis, keys: Keys,
                 executor: OriginateExecutor, database_url: str | None,
                 records: Callable[[Fact], None] | None, registry) -> None:
        self.config = config
        self.executor = executor
        self.engine: DialerEngine | None = None
        self.last_error: str | None = None
        self._redis = redis
        self._keys = keys
        self._database_url = database_url
        self._records = records
        self._pool: asyncpg.Pool | None = None
        self._task: asyncio.Task | None = None
        self._upkeep: asyncio.Task | None = None  # VACUUMs the lead queue as dead rows pile up
        self.latency = Histogram(
            "telephony_dialer_originate_latency_seconds",
            "From an assigned agent becoming available to the Originate written for them",
            buckets=LATENCY_BUCKETS, registry=registry)

    @property
    def enabled(self) -> bool:
        return self.config.dialer_enabled and bool(self._database_url)

    async def start(self) -> None:
        if not self.enabled:
            log.info("dialer engine off (%s)", "DIALER_ENABLED=off" if self._database_url
                     else "no DATABASE_URL")
            return
        self._task = asyncio.create_task(self._connect_and_run(), name="dialer-start")

    async def _connect_and_run(self) -> None:
        failures = 0
        while True:
            try:
                # the store changes no session state: no reset query on every release
                self._pool = await pool_connector(self._database_url, max_size=POOL_SIZE,
                                                  reset_sessions=False)()
                break
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                self.last_error = f"PostgreSQL no responde ({type(exc).__name__}: {exc}); " \
                                  "el dialer espera a que vuelva"
                log.warning("%s", self.last_error)
                await asyncio.sleep(backoff_delay(failures, base=0.5, cap=30.0))
                failures += 1
        self.last_error = None
        cfg = self.config
        store = DialerStore(self._pool, default_zone=cfg.tz_name)
        self.engine = DialerEngine(
            store=store, redis=self._redis, keys=self._keys, executor=self.executor,
            settings=EngineSettings(worker=cfg.dialer_name, lease_seconds=cfg.dialer_lease_seconds,
                                    offer_seconds=cfg.dialer_offer_seconds,
                                    ring_seconds=cfg.dialer_ring_seconds,
                                    refresh_seconds=cfg.dialer_refresh_seconds,
                                    reclaim_seconds=cfg.dialer_reclaim_seconds,
                                    reclaim_retry_seconds=cfg.dialer_reclaim_retry_seconds,
                                    rejected_pause_seconds=cfg.dialer_rejected_pause_seconds,
                                    pacing=PacingSettings(abandon_cap=cfg.dialer_abandon_cap)),
            records=self._records, on_latency=self.latency.observe)
        await self.engine.start()
        self._upkeep = asyncio.create_task(LeadQueueUpkeep(self._pool).run(), name="dialer-upkeep")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._upkeep is not None:
            self._upkeep.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._upkeep
            self._upkeep = None
        if self.engine is not None:
            await self.engine.stop()
            self.engine = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def status(self) -> dict[str, Any]:
        engine = self.engine
        return {
            "enabled": self.enabled, "running": engine is not None and engine.started,
            "worker": self.config.dialer_name, "ami_ready": self.executor.ami_connected,
            "campaigns": sorted(engine.runners) if engine else [],
            "in_flight": self.executor.in_flight, "offers": engine.offers if engine else 0,
            "last_error": self.last_error or (engine.last_error if engine else None),
        }

    def collect(self) -> Iterator[Metric]:
        outcomes = CounterMetricFamily("telephony_dialer_attempts",
                                       "Dialer attempts finished, by outcome (preview skips and "
                                       "withdrawn offers included)", labels=["outcome"])
        counts = self.executor.outcomes + (self.engine.outcomes if self.engine else Counter())
        for outcome in [*map(str, Outcome), "offer_withdrawn"]:
            outcomes.add_metric([outcome], counts.get(outcome, 0))
        yield outcomes
        yield GaugeMetricFamily("telephony_dialer_in_flight", "Dialer calls placed and not over",
                                value=self.executor.in_flight)
        yield GaugeMetricFamily("telephony_dialer_offers", "Preview offers on agents' screens",
                                value=self.engine.offers if self.engine else 0)
        yield GaugeMetricFamily("telephony_dialer_campaigns", "Campaigns this engine runs",
                                value=len(self.engine.runners) if self.engine else 0)
        yield CounterMetricFamily("telephony_dialer_tracker_errors",
                                  "AMI events the dialer's attempt tracker failed on",
                                  value=self.executor.errors)
