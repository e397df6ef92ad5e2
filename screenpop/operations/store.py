"""Operations, their locks, the outbox and the audit trail in Redis."""
from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any

from common.keys import Keys
from screenpop.operations.model import Operation

OPERATION_TTL_SECONDS = 30 * 24 * 3600
BLOB_TTL_SECONDS = 7 * 24 * 3600

# create the hash only when absent: two tabs clicking at once create one operation
_CREATE_LUA = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return 1
"""
_HOLD_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_UNLOCK_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _member(call_id: str, op_id: str) -> str:
    return json.dumps([call_id, op_id], separators=(",", ":"))


class OperationStore:
    def __init__(self, redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._create = redis.register_script(_CREATE_LUA)
        self._unlock = redis.register_script(_UNLOCK_LUA)
        self._hold = redis.register_script(_HOLD_LUA)

    async def create(self, op: Operation) -> tuple[Operation, bool]:
        """The stored operation for (call, op id), created from `op` when there was none."""
        flat = [part for pair in op.to_hash().items() for part in pair]
        created = await self._create(
            keys=[self._keys.operation(op.call_id, op.op_id), self._keys.call_operations(op.call_id)],
            args=[OPERATION_TTL_SECONDS, op.created_at, op.op_id, *flat])
        stored = await self.get(op.call_id, op.op_id)
        assert stored is not None
        return stored, bool(created)

    async def get(self, call_id: str, op_id: str) -> Operation | None:
        data = await self._redis.hgetall(self._keys.operation(call_id, op_id))
        return Operation.from_hash(data) if data else None

    async def list(self, call_id: str) -> list[Operation]:
        op_ids = await self._redis.zrange(self._keys.call_operations(call_id), 0, -1)
        found = [await self.get(call_id, op_id) for op_id in op_ids]
        return [op for op in found if op is not None]

    async def save(self, op: Operation) -> None:
        key = self._keys.operation(op.call_id, op.op_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=op.to_hash())
            pipe.expire(key, OPERATION_TTL_SECONDS)
            await pipe.execute()

    # --- the one sender of an operation --------------------------------------------------------

    async def lock(self, record: str, op_id: str, seconds: float) -> str | None:
        token = secrets.token_hex(8)
        ok = await self._redis.set(self._keys.operation_lock(record, op_id), token, nx=True,
                                   px=max(1, int(seconds * 1000)))
        return token if ok else None

    async def unlock(self, record: str, op_id: str, token: str) -> None:
        await self._unlock(keys=[self._keys.operation_lock(record, op_id)], args=[token])

    async def hold(self, record: str, op_id: str, token: str, seconds: float) -> None:
        """Keep the lock (ours) for `seconds` more, then let it expire by itself."""
        await self._hold(keys=[self._keys.operation_lock(record, op_id)],
                         args=[token, max(1, int(seconds * 1000))])

    # --- operations a person must resolve --------------------------------------------------------

    async def flag(self, call_id: str, op_id: str, at: float) -> None:
        await self._redis.zadd(self._keys.operations_attention, {_member(call_id, op_id): at})

    async def unflag(self, call_id: str, op_id: str) -> None:
        await self._redis.zrem(self._keys.operations_attention, _member(call_id, op_id))

    async def flagged(self, limit: int = 200) -> list[Operation]:
        members = await self._redis.zrange(self._keys.operations_attention, 0, limit - 1)
        found = [await self.get(*json.loads(m)) for m in members]
        return [op for op in found if op is not None]

    # --- outbox --------------------------------------------------------------------------------

    async def schedule(self, call_id: str, op_id: str, at: float) -> None:
        await self._redis.zadd(self._keys.operations_outbox, {_member(call_id, op_id): at})

    async def unschedule(self, call_id: str, op_id: str) -> None:
        await self._redis.zrem(self._keys.operations_outbox, _member(call_id, op_id))

    async def due(self, now: float, limit: int = 20) -> list[tuple[str, str]]:
        members = await self._redis.zrangebyscore(self._keys.operations_outbox, "-inf", now,
                                                  start=0, num=limit)
        return [tuple(json.loads(m)) for m in members]

    async def queued(self) -> int:
        return await self._redis.zcard(self._keys.operations_outbox)

    # --- file bytes waiting to be uploaded -------------------------------------------------------

    async def put_blob(self, call_id: str, op_id: str, content: bytes) -> None:
        await self._redis.set(self._keys.operation_blob(call_id, op_id), base64.b64encode(content).decode(),
                              ex=BLOB_TTL_SECONDS, nx=True)

    async def blob(self, call_id: str, op_id: str) -> bytes | None:
        raw = await self._redis.get(self._keys.operation_blob(call_id, op_id))
        return base64.b64decode(raw) if raw else None

    async def drop_blob(self, call_id: str, op_id: str) -> None:
        await self._redis.delete(self._keys.operation_blob(call_id, op_id))

    # --- audit ---------------------------------------------------------------------------------

    async def audit(self, call_id: str, entry: dict[str, Any]) -> None:
        entry = {"at": time.time(), **entry}
        key = self._keys.call_audit(call_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, json.dumps(entry, ensure_ascii=False, default=str))
            pipe.expire(key, OPERATION_TTL_SECONDS)
            await pipe.execute()

    async def audit_entries(self, call_id: str) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in await self._redis.lrange(self._keys.call_audit(call_id), 0, -1)]
