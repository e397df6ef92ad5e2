"""The IVR's FastAGI side: Asterisk's dialplan asks `agi://AGI_HOST:AGI_PORT/lookup?did=…` who is
calling (the answer comes from the preinstallation index in Redis, within a budget), and
`…/callback?queue=…` records a waiting caller's request to be called back.

    ivr = create_ivr(config, redis=redis)      # the telephony service does this
    await ivr.start(); ...; await ivr.stop()
"""
from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, Metric
from redis.asyncio import Redis
from redis.exceptions import RedisError

from common.keys import Keys
from telephony.config import TelephonyConfig
from telephony.ivr.callback import create_callback
from telephony.ivr.index_reader import IndexReader
from telephony.ivr.lookup import create_lookup
from telephony.ivr.server import FastAgiServer, Handler

log = logging.getLogger(__name__)

PREPARE_TIMEOUT = 2.0


class Ivr:
    def __init__(self, host: str, port: int, routes: dict[str, Handler], lookups: Counter[str],
                 reader: IndexReader) -> None:
        self._host = host
        self._port = port
        self._routes = routes
        self._reader = reader
        self.lookups = lookups
        self.server: FastAgiServer | None = None

    @property
    def port(self) -> int | None:
        return self.server.port if self.server is not None else None

    async def start(self) -> None:
        try:
            await asyncio.wait_for(self._reader.prepare(), PREPARE_TIMEOUT)
        except (TimeoutError, RedisError, OSError) as exc:
            log.warning("fastagi: the index is not reachable yet (%s); look-ups will try again "
                        "on each call", exc)
        server = FastAgiServer()
        for path, handler in self._routes.items():
            server.add_route(path, handler)
        await server.start(self._host, self._port)
        self.server = server

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()

    def collect(self) -> Iterator[Metric]:
        lookups = CounterMetricFamily("telephony_agi_lookups", "IVR caller look-ups, by result "
                                      "(unknown: the index was slow or unreachable)",
                                      labels=["match"])
        for status, count in sorted(self.lookups.items()):
            lookups.add_metric([status], count)
        yield lookups
        if self.server is not None:
            yield from self.server.collect()


def create_ivr(config: TelephonyConfig, *, redis: Redis) -> Ivr:
    lookups: Counter[str] = Counter()
    keys = Keys(prefix=config.redis_prefix)
    reader = IndexReader(redis, keys)
    routes = {"lookup": create_lookup(reader, budget=config.agi_lookup_budget, outcomes=lookups),
              "callback": create_callback(redis, keys, budget=config.agi_lookup_budget)}
    return Ivr(config.agi_host, config.agi_port, routes, lookups, reader)
