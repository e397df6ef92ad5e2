"""The outbox worker: one task per service node that advances the operations due in Redis.

Several nodes may run it; each operation is claimed by its lock, so only one sends it."""
from __future__ import annotations

import asyncio
import logging
import time

from redis.exceptions import RedisError

from common.backoff import backoff_delay
from common.tasks import cancel_requested
from screenpop.operations.runner import OperationRunner
from screenpop.operations.store import OperationStore

log = logging.getLogger(__name__)

BATCH = 20
PARK_SECONDS = 600.0  # an operation that raised unexpectedly is looked at again later


class OutboxWorker:
    def __init__(self, runner: OperationRunner, store: OperationStore, *,
                 interval: float = 2.0) -> None:
        self._runner = runner
        self._store = store
        self._interval = interval
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        failures = 0
        while not cancel_requested():
            try:
                for call_id, op_id in await self._store.due(time.time(), BATCH):
                    try:
                        await self._runner.advance(call_id, op_id)
                    except (RedisError, OSError, TimeoutError):
                        raise
                    except Exception:
                        log.exception("outbox: operation failed call=%s op=%s", call_id, op_id)
                        await self._store.schedule(call_id, op_id, time.time() + PARK_SECONDS)
                failures = 0
                delay = self._interval
            except (RedisError, OSError, TimeoutError) as exc:
                log.warning("outbox worker: Redis problem, backing off: %s", exc)
                delay = backoff_delay(failures, cap=30.0)
                failures += 1
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), delay)
            except TimeoutError:
                pass
