"""Per-call progress of the guided script in Redis: the current step and the captured answers.

One hash per call (`Keys.call_progress`): `step`, `version`, `updated_at`, `updated_by` and one
field per answer (`a:<key>` → JSON), so two tabs saving different answers both survive. Every
read and every write is one round trip; the hash outlives the call by CALL_PROGRESS_TTL_SECONDS
because QA and the WispHub write-back read it afterwards.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from common.keys import Keys
from screenpop.script.answers import AnswerError, validate_answer
from screenpop.script.steps import STEP_IDS

if TYPE_CHECKING:
    from screenpop.script.model import ProviderConfig

CALL_PROGRESS_TTL_SECONDS = 30 * 24 * 3600
_ANSWER = "a:"


@dataclass(frozen=True)
class CallProgress:
    call_id: str
    step: str = STEP_IDS[0]
    answers: dict[str, Any] = field(default_factory=dict)
    updated_at: datetime | None = None
    updated_by: str | None = None
    version: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"call_id": self.call_id, "step": self.step, "answers": dict(self.answers),
                "updated_at": self.updated_at.isoformat() if self.updated_at else None,
                "updated_by": self.updated_by, "version": self.version}

    @classmethod
    def from_hash(cls, call_id: str, data: Mapping[str, str]) -> CallProgress:
        answers: dict[str, Any] = {}
        for name, raw in data.items():
            if name.startswith(_ANSWER):
                try:
                    answers[name[len(_ANSWER):]] = json.loads(raw)
                except ValueError:
                    continue
        step = data.get("step")
        updated_at = data.get("updated_at")
        return cls(call_id=call_id,
                   step=step if step in STEP_IDS else STEP_IDS[0],
                   answers=answers,
                   updated_at=datetime.fromisoformat(updated_at) if updated_at else None,
                   updated_by=data.get("updated_by"),
                   version=int(data.get("version") or 0))


class CallProgressStore:
    def __init__(self, redis, keys: Keys, *, provider: ProviderConfig | None = None) -> None:
        """`redis` is a redis.asyncio client with decode_responses=True. With `provider`,
        provider-defined choices (zone, plan, add-ons…) must exist in that configuration."""
        self._redis = redis
        self._keys = keys
        self._provider = provider

    async def get(self, call_id: str) -> CallProgress:
        data = await self._redis.hgetall(self._keys.call_progress(call_id))
        return CallProgress.from_hash(call_id, data)

    async def save(self, call_id: str, *, step: str | None = None,
                   answers: Mapping[str, Any] | None = None, by: str) -> CallProgress:
        """Merge `answers` (None or "" clears one) and move to `step`; AnswerError and nothing
        written when any of them is invalid."""
        if step is not None and step not in STEP_IDS:
            raise AnswerError("step", f"Paso desconocido: {step!r}")
        to_set: dict[str, str] = {}
        to_clear: list[str] = []
        for key, value in (answers or {}).items():
            normalised = validate_answer(key, value, self._provider)
            if normalised is None:
                to_clear.append(_ANSWER + key)
            else:
                to_set[_ANSWER + key] = json.dumps(normalised, ensure_ascii=False)
        to_set["updated_at"] = datetime.now(UTC).isoformat()
        to_set["updated_by"] = by
        if step is not None:
            to_set["step"] = step
        name = self._keys.call_progress(call_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            if to_clear:
                pipe.hdel(name, *to_clear)
            pipe.hset(name, mapping=to_set)
            pipe.hincrby(name, "version", 1)
            pipe.expire(name, CALL_PROGRESS_TTL_SECONDS)
            pipe.hgetall(name)
            results = await pipe.execute()
        return CallProgress.from_hash(call_id, results[-1])
