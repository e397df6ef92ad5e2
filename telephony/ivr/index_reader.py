"""Reading the preinstallation index from Redis for the IVR, without importing screenpop.

The index is written by screenpop (screenpop/index.py); its key names are in common/keys.py:
- `number_links`: hash E.164 number → id of the record an agent chose for that number;
- `index_phones`: hash E.164 number → JSON list of record ids;
- `index_records`: hash record id → record JSON, of which the IVR reads `id` and `name`.
A remembered choice whose record is still pending wins, as it does for the pop.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Literal

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
        self._match = redis.register_script(_MATCH_LUA)

    async def prepare(self) -> None:
        """Load the script and open a connection before the first call needs them."""
        await self._redis.script_load(_MATCH_LUA)

    async def match(self, number_e164: str) -> IndexMatch:
        keys = self._keys
        raw = await self._match(keys=[keys.number_links, keys.index_phones, keys.index_records],
                                args=[number_e164])
        records = tuple(r for r in map(read_record, raw) if r is not None)
        status = "none" if not records else "one" if len(records) == 1 else "many"
        return IndexMatch(status, records)
