"""The IVR's callback requests as a supervisor sees them: who is waiting to be called back in
each queue, in the order they will be dialled, who is being dialled now, and the callbacks that
gave up (telephony.ivr.callback stores them; telephony.dialer.queue_callbacks dials them).

    view = await CallbackBoard(redis, keys, index).snapshot(now)
"""
from __future__ import annotations

import json
from typing import Any

from common.keys import Keys
from common.phones import display
from screenpop.index import PreinstallationIndex

LISTED = 100           # pending requests shown per queue
FAILED_SHOWN = 20      # latest failed callbacks shown per queue
FAILED_WINDOW = 24 * 3600.0


def _load(raw: str | bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) and data.get("number") else None


def entry(data: dict[str, Any], place: float, state: str, now: float) -> dict[str, Any]:
    """One request as the page shows it (pure)."""
    not_before = float(data.get("not_before") or 0.0)
    return {"number": data["number"], "number_display": display(str(data["number"])),
            "queue": data.get("queue"), "place": place, "waiting_seconds": max(0.0, now - place),
            "requested_at": data.get("requested_at"), "call_id": data.get("call_id"),
            "preinstallation_id": data.get("preinstallation_id"),
            "attempts": int(data.get("attempts") or 0), "last_outcome": data.get("last_outcome"),
            "retry_at": not_before if not_before > now else None, "state": state,
            "record_name": None}


class CallbackBoard:
    def __init__(self, redis, keys: Keys, index: PreinstallationIndex) -> None:
        self._redis = redis
        self._keys = keys
        self._index = index

    async def snapshot(self, now: float) -> dict[str, Any]:
        queues = sorted(_text(q) for q in await self._redis.smembers(self._keys.callback_queues))
        out = []
        for queue in queues:
            keys = self._keys
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.zrange(keys.callback_requests(queue), 0, LISTED - 1, withscores=True)
                pipe.zcard(keys.callback_requests(queue))
                pipe.hgetall(keys.callbacks_processing(queue))
                pipe.zrevrangebyscore(keys.callbacks_finished(queue), "+inf",
                                      now - FAILED_WINDOW, start=0, num=FAILED_SHOWN * 5)
                pending, count, processing, finished = await pipe.execute()
            dialling = []
            for member, lease in processing.items():
                data = _load(member)
                try:
                    place = float(json.loads(lease)["place"])
                except (ValueError, KeyError, TypeError):
                    continue
                if data is not None:
                    dialling.append(entry(data, place, "dialling", now))
            waiting = [entry(data, float(score), "waiting", now) for member, score in pending
                       if (data := _load(member)) is not None]
            failed = [data for raw in finished if (data := _load(raw)) is not None
                      and data.get("outcome") == "failed"][:FAILED_SHOWN]
            items = sorted(dialling, key=lambda e: e["place"]) + waiting
            for item in items + failed:
                item["record_name"] = await self._record_name(item)
            out.append({"queue": queue, "pending": int(count) + len(dialling),
                        "items": items,
                        "failed": [{"number": f["number"],
                                    "number_display": display(str(f["number"])),
                                    "attempts": f.get("attempts"),
                                    "last_outcome": f.get("last_outcome"),
                                    "finished_at": f.get("finished_at"),
                                    "record_name": f.get("record_name")} for f in failed]})
        return {"queues": out, "now": now}

    async def _record_name(self, item: dict[str, Any]) -> str | None:
        record_id = item.get("preinstallation_id")
        if record_id:
            record = await self._index.get(str(record_id))
            if record is not None:
                return record.name
        match = await self._index.match(str(item["number"]))
        return match.preinstallations[0].name if match.status == "one" else None


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
