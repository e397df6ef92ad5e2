"""The Redis index of preinstallations: caller number → records, in one round trip.

It holds the pending preinstallations and the customers that are installations already (activated
from the pop, or listed as clients by WispHub), so a later call from their number still finds
them. Layout (names in common.keys): `index_records` id → record JSON, `index_phones` E.164 →
JSON list of ids, `index_installed` id → {reference, at} for the records that are installations,
`index_meta` sync bookkeeping, `number_links` E.164 → id the agent chose (kept across syncs).
A full sync fills staging keys and renames them over the live ones inside one MULTI, so readers
see either the old index or the new one, never a mix.
"""
from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from common.keys import Keys
from screenpop.fields import fold
from screenpop.wisphub.models import Preinstallation

STAGING_TTL_SECONDS = 900
_CHUNK = 500
_DIGITS = re.compile(r"\D")

# KEYS: number_links, index_phones, index_records, index_installed. ARGV: number.
# Returns {"link", record, mark} for a remembered choice whose record is still indexed, else
# {"index", record, mark, …} (possibly empty); mark is the installed mark or "".
_MATCH_LUA = """
local function mark(id)
  return redis.call('HGET', KEYS[4], id) or ''
end
local linked = redis.call('HGET', KEYS[1], ARGV[1])
if linked then
  local record = redis.call('HGET', KEYS[3], linked)
  if record then return {'link', record, mark(linked)} end
end
local out = {'index'}
local ids = redis.call('HGET', KEYS[2], ARGV[1])
if ids then
  for _, id in ipairs(cjson.decode(ids)) do
    local record = redis.call('HGET', KEYS[3], id)
    if record then
      table.insert(out, record)
      table.insert(out, mark(id))
    end
  end
end
return out
"""

# KEYS: index_records, index_installed. ARGV: id, mark JSON. Marks only a record still indexed;
# an existing mark keeps its reference when the new one has none.
_MARK_LUA = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
local new = cjson.decode(ARGV[2])
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old then
  old = cjson.decode(old)
  if (new['reference'] == nil or new['reference'] == cjson.null) and old['reference'] then
    return 1
  end
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
"""

_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# KEYS: index_records, index_phones, index_meta, index_installed. ARGV: id, record JSON or ''
# to remove (which also drops its installed mark).
_UPSERT_LUA = """
local id = ARGV[1]
local old = redis.call('HGET', KEYS[1], id)
if old then
  for _, phone in ipairs(cjson.decode(old)['phones']) do
    local raw = redis.call('HGET', KEYS[2], phone)
    if raw then
      local kept = {}
      for _, other in ipairs(cjson.decode(raw)) do
        if other ~= id then table.insert(kept, other) end
      end
      if #kept == 0 then redis.call('HDEL', KEYS[2], phone)
      else redis.call('HSET', KEYS[2], phone, cjson.encode(kept)) end
    end
  end
  redis.call('HDEL', KEYS[1], id)
end
if ARGV[2] == '' then redis.call('HDEL', KEYS[4], id) end
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[1], id, ARGV[2])
  for _, phone in ipairs(cjson.decode(ARGV[2])['phones']) do
    local raw = redis.call('HGET', KEYS[2], phone)
    local ids = {}
    if raw then ids = cjson.decode(raw) end
    local present = false
    for _, other in ipairs(ids) do if other == id then present = true end end
    if not present then table.insert(ids, id) end
    redis.call('HSET', KEYS[2], phone, cjson.encode(ids))
  end
end
redis.call('HSET', KEYS[3], 'count', redis.call('HLEN', KEYS[1]))
return old and 1 or 0
"""


@dataclass(frozen=True)
class Installed:
    """An indexed record that is an installation now (no longer a pending preinstallation)."""
    reference: str | None   # WispHub's answer to the activation ("Instalación 123"), if known
    at: float

    def to_json(self) -> str:
        return json.dumps({"reference": self.reference, "at": self.at})

    @classmethod
    def from_json(cls, raw: str | bytes) -> Installed:
        data = json.loads(raw)
        return cls(reference=data.get("reference") or None, at=float(data.get("at") or 0))


@dataclass(frozen=True)
class Match:
    status: Literal["one", "many", "none"]
    preinstallations: tuple[Preinstallation, ...]
    installed: Mapping[str, Installed] = field(default_factory=dict)   # by record id

    @classmethod
    def of(cls, records: Sequence[Preinstallation],
           installed: Mapping[str, Installed] | None = None) -> Match:
        status = "none" if not records else "one" if len(records) == 1 else "many"
        return cls(status, tuple(records), dict(installed or {}))


def phone_map(records: Sequence[Preinstallation]) -> dict[str, list[str]]:
    """E.164 number → ids of the records carrying it, in record order."""
    phones: dict[str, list[str]] = {}
    for record in records:
        for number in record.phones:
            ids = phones.setdefault(number, [])
            if record.id not in ids:
                ids.append(record.id)
    return phones


def matches_text(record: Preinstallation, words: Sequence[str], digits: str) -> bool:
    """True when every word is in the name/e-mail/username, or the digits are in a phone."""
    if digits and len(digits) >= 4:
        if any(digits in _DIGITS.sub("", phone) for phone in (*record.phones, record.phone_raw)):
            return True
    haystack = fold(" ".join(filter(None, (record.name, record.email, record.username))))
    return bool(words) and all(word in haystack for word in words)


class PreinstallationIndex:
    def __init__(self, redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._match = redis.register_script(_MATCH_LUA)
        self._upsert = redis.register_script(_UPSERT_LUA)
        self._release = redis.register_script(_RELEASE_LUA)
        self._mark = redis.register_script(_MARK_LUA)

    async def match(self, number_e164: str | None) -> Match:
        if not number_e164:
            return Match("none", ())
        keys = self._keys
        reply = await self._match(keys=[keys.number_links, keys.index_phones, keys.index_records,
                                        keys.index_installed], args=[number_e164])
        records = [Preinstallation.from_json(raw) for raw in reply[1::2]]
        marks = {r.id: Installed.from_json(m) for r, m in zip(records, reply[2::2]) if m}
        return Match.of(records, marks)

    async def get(self, preinstallation_id: str) -> Preinstallation | None:
        raw = await self._redis.hget(self._keys.index_records, str(preinstallation_id))
        return Preinstallation.from_json(raw) if raw else None

    async def installed(self, preinstallation_id: str) -> Installed | None:
        raw = await self._redis.hget(self._keys.index_installed, str(preinstallation_id))
        return Installed.from_json(raw) if raw else None

    async def installations(self) -> dict[str, tuple[Preinstallation, Installed]]:
        """Every indexed record that is an installation, with its mark."""
        marks = await self._redis.hgetall(self._keys.index_installed)
        if not marks:
            return {}
        ids = [_text(i) for i in marks]
        raws = await self._redis.hmget(self._keys.index_records, ids)
        return {i: (Preinstallation.from_json(raw), Installed.from_json(marks[key]))
                for i, key, raw in zip(ids, marks, raws) if raw}

    async def mark_installed(self, preinstallation_id: str, reference: str | None,
                             at: float | None = None) -> bool:
        """Keep an indexed record findable as an installation (after its activation). False
        when the index does not hold it."""
        keys = self._keys
        mark = Installed(reference, time.time() if at is None else at)
        return bool(await self._mark(keys=[keys.index_records, keys.index_installed],
                                     args=[str(preinstallation_id), mark.to_json()]))

    async def all(self) -> list[Preinstallation]:
        values = await self._redis.hvals(self._keys.index_records)
        return sorted((Preinstallation.from_json(raw) for raw in values), key=_sort_key)

    async def search(self, text: str, limit: int = 10) -> list[Preinstallation]:
        words = fold(text).split()
        digits = _DIGITS.sub("", text)
        if not words:
            return []
        found = [r for r in await self.all() if matches_text(r, words, digits)]
        return found[:max(0, limit)]

    async def link_number(self, number_e164: str, preinstallation_id: str) -> Preinstallation:
        record = await self.get(preinstallation_id)
        if record is None:
            raise KeyError(preinstallation_id)
        await self._redis.hset(self._keys.number_links, number_e164, record.id)
        return record

    async def replace_all(self, records: Sequence[Preinstallation], source: str,
                          installed: Mapping[str, Installed] | None = None) -> None:
        """Swap in a whole new index; `installed` marks which of `records` are installations."""
        keys = self._keys
        token = uuid.uuid4().hex
        staged_records = keys.index_staging("records", token)
        staged_phones = keys.index_staging("phones", token)
        staged_installed = keys.index_staging("installed", token)
        phones = phone_map(records)
        ids = {r.id for r in records}
        marks = {i: m.to_json() for i, m in (installed or {}).items() if i in ids}
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for start in range(0, len(records), _CHUNK):
                    chunk = records[start:start + _CHUNK]
                    pipe.hset(staged_records, mapping={r.id: r.to_json() for r in chunk})
                    pipe.expire(staged_records, STAGING_TTL_SECONDS)
                items = list(phones.items())
                for start in range(0, len(items), _CHUNK):
                    pipe.hset(staged_phones, mapping={n: json.dumps(ids)
                                                      for n, ids in items[start:start + _CHUNK]})
                    pipe.expire(staged_phones, STAGING_TTL_SECONDS)
                marked = list(marks.items())
                for start in range(0, len(marked), _CHUNK):
                    pipe.hset(staged_installed, mapping=dict(marked[start:start + _CHUNK]))
                    pipe.expire(staged_installed, STAGING_TTL_SECONDS)
                await pipe.execute()
            async with self._redis.pipeline(transaction=True) as swap:
                for staged, live, filled in ((staged_records, keys.index_records, records),
                                             (staged_phones, keys.index_phones, phones),
                                             (staged_installed, keys.index_installed, marks)):
                    if filled:
                        swap.rename(staged, live)
                        swap.persist(live)
                    else:
                        swap.delete(live)
                swap.hset(keys.index_meta, mapping={
                    "count": len(records), "installed": len(marks), "last_sync": time.time(),
                    "source": source, "last_error": "", "last_error_at": ""})
                await swap.execute()
        finally:
            await self._redis.delete(staged_records, staged_phones, staged_installed)

    async def upsert(self, record: Preinstallation) -> None:
        keys = self._keys
        await self._upsert(keys=[keys.index_records, keys.index_phones, keys.index_meta,
                                 keys.index_installed], args=[record.id, record.to_json()])

    async def remove(self, preinstallation_id: str) -> None:
        keys = self._keys
        await self._upsert(keys=[keys.index_records, keys.index_phones, keys.index_meta,
                                 keys.index_installed], args=[str(preinstallation_id), ""])

    async def record_failure(self, error: str) -> None:
        """Note a failed sync; the index itself is left as it was."""
        await self._redis.hset(self._keys.index_meta,
                               mapping={"last_error": error, "last_error_at": time.time()})

    async def claim_sync(self, owner: str, seconds: float) -> bool:
        """Take the turn to sync for `seconds` (several screenpop nodes share one index)."""
        return bool(await self._redis.set(self._keys.index_sync_lock, owner, nx=True,
                                          px=max(1, int(seconds * 1000))))

    async def release_sync(self, owner: str) -> None:
        await self._release(keys=[self._keys.index_sync_lock], args=[owner])

    async def status(self) -> dict:
        meta = {_text(k): _text(v)
                for k, v in (await self._redis.hgetall(self._keys.index_meta)).items()}
        return {
            "count": int(meta.get("count") or 0),
            "installed": int(meta.get("installed") or 0),
            "last_sync": float(meta["last_sync"]) if meta.get("last_sync") else None,
            "last_error": meta.get("last_error") or None,
            "last_error_at": float(meta["last_error_at"]) if meta.get("last_error_at") else None,
            "source": meta.get("source") or None,
        }


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _sort_key(record: Preinstallation) -> tuple:
    return (fold(record.name), record.id)
