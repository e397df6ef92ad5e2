"""Who is waiting in each queue, and since when: a pure fold of AMI events (no I/O).

QueueCallerJoin adds the caller's channel (Uniqueid) to its queue with the event's Timestamp;
QueueCallerLeave, QueueCallerAbandon or the channel's Hangup removes it. After a (re)connect the
history is unknown: a channel that CoreShowChannels shows running Queue() and that is not known
yet counts as waiting since the start of time, so no callback is dialled ahead of it until it
leaves (Asterisk's own QUEUE_MAX_WAIT bounds that wait).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping

from telephony.ami.listener import Resync

log = logging.getLogger(__name__)

LEAVES = frozenset({"QueueCallerLeave", "QueueCallerAbandon"})
UNKNOWN_SINCE = 0.0


class QueueWaitsFeed:
    """A listener sink: every AMI item to the queue waits, then on to `inner`. Never raises."""

    def __init__(self, waits: QueueWaits, inner) -> None:
        self._waits = waits
        self._inner = inner

    def put_nowait(self, item) -> None:
        try:
            if isinstance(item, Resync):
                self._waits.resync(item.channels)
            else:
                self._waits.feed(item)
        except Exception:  # it runs inside the AMI read path: never raise
            log.exception("queue waits failed on %.200r", item)
        self._inner.put_nowait(item)


class QueueWaits:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock  # for events without a Timestamp (timestampevents off)
        self._waiting: dict[str, tuple[str, float]] = {}  # uniqueid → (queue, joined at)

    def feed(self, event: Mapping[str, str]) -> None:
        name = event.get("Event")
        uniqueid = event.get("Uniqueid", "")
        if name == "QueueCallerJoin" and uniqueid and event.get("Queue"):
            self._waiting[uniqueid] = (event["Queue"], _timestamp(event, self._clock))
        elif name in LEAVES or name == "Hangup":
            self._waiting.pop(uniqueid, None)

    def resync(self, channels: Iterable[Mapping[str, str]]) -> None:
        alive: dict[str, tuple[str, float]] = {}
        for channel in channels:
            uniqueid = channel.get("Uniqueid", "")
            if channel.get("Application") != "Queue" or not uniqueid:
                continue
            queue = (channel.get("ApplicationData") or "").split(",", 1)[0]
            known = self._waiting.get(uniqueid)
            alive[uniqueid] = known if known is not None else (queue, UNKNOWN_SINCE)
        self._waiting = alive

    def earliest(self, queue: str) -> float | None:
        """When the caller waiting longest in `queue` joined it; None when nobody waits."""
        joined = [since for name, since in self._waiting.values() if name == queue]
        return min(joined) if joined else None

    def waiting(self, queue: str) -> int:
        return sum(1 for name, _ in self._waiting.values() if name == queue)


def _timestamp(event: Mapping[str, str], clock: Callable[[], float]) -> float:
    try:
        return float(event["Timestamp"])
    except (KeyError, ValueError):
        return clock()
