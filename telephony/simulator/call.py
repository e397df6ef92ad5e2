"""One simulated call: fresh identifiers bound to a template, and its playback."""
from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from itertools import count

from telephony.simulator.template import CompiledEvent, Template, render

BATCH = 256  # events written per loop turn when playing as fast as possible
HOLD_POINTS = ("answered",)

Emit = Callable[["SimCall", list[tuple[CompiledEvent, bytes]]], None]


@dataclass
class IdSource:
    """Per-simulator counters, so ids never repeat across calls (as on one Asterisk)."""
    sequence: count
    channel: count

    @classmethod
    def fresh(cls) -> IdSource:
        return cls(count(1), count(1))


def bind_values(template: Template, params: Mapping[str, str], ids: IdSource, *,
                first_uniqueid: str | None = None) -> list[bytes]:
    """The value list for one call: [timestamp, uniqueids, suffixes, bridges, literals]."""
    epoch = int(time.time())
    values: list[bytes] = [b""]
    for recorded in template.uniqueids:
        if first_uniqueid and recorded == template.first_channel_uniqueid:
            values.append(first_uniqueid.encode())
        else:
            values.append(f"{epoch}.{next(ids.sequence)}".encode())
    values += [f"-{next(ids.channel):08x}".encode() for _ in template.suffixes]
    values += [str(uuid.uuid4()).encode() for _ in template.bridges]
    for literal, param in zip(template.literals, template.literal_params):
        values.append(params.get(param, literal).encode("utf-8"))
    return values


class SimCall:
    """A call being played. `call_id` is the Uniqueid of its first channel."""

    def __init__(self, *, scenario: str, template: Template, values: list[bytes],
                 speed: float, hold_at: str | None, hold_for: float | None,
                 emit: Emit, info: Mapping[str, object],
                 annotate: Callable[[CompiledEvent, bytes], bytes] | None = None,
                 steps: Mapping[int, Callable[[], Awaitable[None]]] | None = None) -> None:
        """`steps`: work the PBX does before the event at that index (a FastAGI exchange),
        awaited in playback order."""
        if speed < 0:
            raise ValueError("speed must be >= 0")
        if hold_at is not None and hold_at not in HOLD_POINTS:
            raise ValueError(f"hold_at must be one of {HOLD_POINTS}")
        if hold_at is not None and template.hold_index is None:
            raise ValueError(f"scenario {scenario!r} has no point where an agent answers")
        self.scenario = scenario
        self.call_id = values[1 + template.uniqueids.index(template.first_channel_uniqueid)
                              ].decode()
        self.info = dict(info)
        self.state = "playing"
        self._template = template
        self._values = values
        self._speed = speed
        self._hold_index = template.hold_index if hold_at else None
        self._hold_for = hold_for
        self._emit = emit
        self._annotate = annotate
        self._steps = dict(steps or {})
        self._held = asyncio.Event()
        self._released = asyncio.Event()
        self._done = asyncio.Event()

    def to_dict(self) -> dict[str, object]:
        return {"call_id": self.call_id, "scenario": self.scenario, "state": self.state,
                **self.info}

    async def play(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        batch: list[tuple[CompiledEvent, bytes]] = []
        values = self._values
        try:
            for index, event in enumerate(self._template.events):
                if self._speed > 0:
                    delay = start + event.offset * self._speed - loop.time()
                    if delay > 0:
                        self._flush(batch)
                        await asyncio.sleep(delay)
                step = self._steps.get(index)
                if step is not None:
                    self._flush(batch)
                    await step()
                values[0] = b"%.6f" % time.time()
                data = render(event, values)
                if self._annotate is not None:
                    data = self._annotate(event, data)
                batch.append((event, data))
                if index == self._hold_index:
                    self._flush(batch)
                    held_since = loop.time()
                    await self._hold()
                    start += loop.time() - held_since
                elif len(batch) >= BATCH:
                    self._flush(batch)
                    await asyncio.sleep(0)
            self._flush(batch)
        finally:
            if self.state != "hungup":
                self.state = "done"
            self._held.set()
            self._done.set()

    def _flush(self, batch: list[tuple[CompiledEvent, bytes]]) -> None:
        if batch:
            self._emit(self, batch)
            batch.clear()

    async def _hold(self) -> None:
        self.state = "held"
        self._held.set()
        try:
            await asyncio.wait_for(self._released.wait(), self._hold_for)
        except TimeoutError:
            pass
        self.state = "playing"

    @property
    def setting_up(self) -> bool:
        """Not yet at its hold point (or its end): the agents it is to ring are spoken for."""
        return not self._held.is_set()

    def mark_hungup(self) -> None:
        self.state = "hungup"

    async def release(self) -> None:
        """Let a held call continue to its recorded end."""
        self._released.set()

    async def wait_held(self, timeout: float = 10.0) -> None:
        """Until playback reached the hold point (or ended)."""
        await asyncio.wait_for(self._held.wait(), timeout)

    async def wait_done(self, timeout: float | None = 60.0) -> None:
        await asyncio.wait_for(self._done.wait(), timeout)
