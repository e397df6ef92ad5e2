"""Reading the preinstallation index from Redis for the IVR, without importing screenpop.

The index is written by screenpop (screenpop/index.py); its key names are in common/keys.py:
- `number_links`: hash E.164 number → id of the record an agent chose for that number;
- `index_phones`: hash E.164 number → JSON list of record ids;
- `index_records`: hash record id → record JSON, of which the IVR reads `id` and `name`.
A remembered choice whose record is still pending wins, as it does for the pop.

Look-ups that arrive together share one Redis round trip: each one waits for the next batch,
which goes out as a pipeline of the match script (one write and one read on one connection,
instead of one pool checkout, one write and one read each). At most one batch is in flight; what
arrives meanwhile goes in the next, so under load the batches grow instead of the connections.
"""
from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Literal

from redis.exceptions import NoScriptError

from common.keys import Keys

log = logging.getLogger(__name__)

# KEYS: number_links, index_phones, index_records. ARGV: number. Returns record JSON strings.
_MATCH_LUA = """
local linked = redis.call('HGET', KEYS[1], ARGV[1])
if linked then
  local record = redis.call('HGET', KEYS[3], linked)
  if record then return {record} end
end
local out = {}
local ids = redis.call('HGET', KEYS[2], ARGV[1])
if ids then
  for _, id in ipairs(cjson.decode(ids)) do
    local record = redis.call('HGET', KEYS[3], id)
    if record then table.insert(out, record) end
  end
end
return out
"""


@dataclass(frozen=True)
class IndexRecord:
    id: str
    name: str


@dataclass(frozen=True)
class IndexMatch:
    status: Literal["one", "many", "none"]
    records: tuple[IndexRecord, ...]


def read_record(raw: str) -> IndexRecord | None:
    try:
        data = json.loads(raw)
        return IndexRecord(str(data["id"]), str(data.get("name") or ""))
    except (ValueError, KeyError, TypeError):
        log.warning("index record unreadable, skipped: %.120r", raw)
        return None


class IndexReader:
    def __init__(self, redis, keys: Keys) -> None:
        self._keys = keys
        self._redis = redis
        self._sha = redis.register_script(_MATCH_LUA).sha
        self._pending: list[tuple[str, asyncio.Future]] = []
        self._flusher: asyncio.Task | None = None
        self.batches = 0  # round trips to Redis, for the benchmark's figures

    async def prepare(self) -> None:
        """Load the script and open a connection before the first call needs them."""
        await self._redis.script_load(_MATCH_LUA)

    async def match(self, number_e164: str) -> IndexMatch:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((number_e164, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(), name="index-lookups")
        raw = await future
        records = tuple(r for r in map(read_record, raw) if r is not None)
        status = "none" if not records else "one" if len(records) == 1 else "many"
        return IndexMatch(status, records)

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                self.batches += 1
                try:
                    results = await self._run([number for number, _ in batch])
                except Exception as exc:  # noqa: BLE001 - every waiting look-up gets the error
                    results = [exc] * len(batch)
                for (_, future), result in zip(batch, results):
                    if future.done():  # its look-up was cancelled
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._flusher = None

    async def _run(self, numbers: list[str]) -> list:
        """One pipeline of EVALSHA (no SCRIPT EXISTS first, as redis-py's pipelined scripts
        do: a Redis that lost its scripts answers NOSCRIPT, and the batch goes again once)."""
        keys = self._keys
        names = (keys.number_links, keys.index_phones, keys.index_records)
        for attempt in (1, 2):
            async with self._redis.pipeline(transaction=False) as pipe:
                for number in numbers:
                    pipe.evalsha(self._sha, 3, *names, number)
                results = await pipe.execute(raise_on_error=False)
            if attempt == 1 and any(isinstance(r, NoScriptError) for r in results):
                await self._redis.script_load(_MATCH_LUA)
                continue
            return results
        return results
