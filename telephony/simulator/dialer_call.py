"""One dialer Originate being played from its recorded template (see dialer_catalogue).

Beyond the generic playback (call.SimCall) it
- plays at the offsets the plan computed (`retimed`: the recorded spacing times the speed, the
  configured waits in real seconds);
- customer first, stops where the queue would ring a member until one is free (ringinuse=no),
  binds that agent into the rest of the call, and hangs the customer up as abandoned when none
  frees up within the queue's wait;
- writes this Originate's variables into every `ChanVariable:` line of the originated channel,
  and one `VarSet` per variable where Asterisk sets them;
- for a synchronous Originate, keeps the OriginateResponse to itself and tells the waiting
  session whether the channel answered.
"""
from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace

from telephony.simulator.call import Emit, SimCall
from telephony.simulator.dialer_catalogue import DialerTemplate, EventVars
from telephony.simulator.template import CompiledEvent, render

AGENT_POLL = 0.1  # seconds between looks for a free queue member, unless woken earlier
CRLF = b"\r\n"

ChooseAgent = Callable[[], str | None]
BindAgent = Callable[[list[bytes], str], None]
Abandon = Callable[["DialerCall", float], Awaitable[None]]


class QueueLine:
    """Customers waiting in the queue for a member, first come first served (the recorded queue
    has no priorities for dialer calls)."""

    def __init__(self) -> None:
        self._waiting: list[str] = []
        self._changed = asyncio.Event()

    def join(self, call_id: str) -> None:
        self._waiting.append(call_id)

    def leave(self, call_id: str) -> None:
        if call_id in self._waiting:
            self._waiting.remove(call_id)
            self.poke()

    def poke(self) -> None:
        """Something changed (a caller left the line, a call ended): waiters look again now."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_change(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)

    def first(self) -> str | None:
        return self._waiting[0] if self._waiting else None

    def __len__(self) -> int:
        return len(self._waiting)


def retimed(offsets: Sequence[float], phases: Mapping[str, tuple[int, float]], *,
            scaled: Mapping[str, float], fixed: Mapping[str, float], speed: float) -> list[float]:
    """Seconds after the call's start of each event: the recorded spacing and the `scaled` waits
    times `speed`, the `fixed` waits (what the user configured) in real seconds."""
    changes = []
    for name, (index, recorded) in phases.items():
        if name in fixed:
            changes.append((index, fixed[name] - recorded * speed))
        elif name in scaled:
            changes.append((index, (scaled[name] - recorded) * speed))
    changes.sort()
    out, shift, k = [], 0.0, 0
    for index, offset in enumerate(offsets):
        while k < len(changes) and changes[k][0] <= index:
            shift += changes[k][1]
            k += 1
        out.append(max(0.0, offset * speed + shift))
    return out


def _with_value(line: bytes, values: Mapping[str, str]) -> bytes:
    """`ChanVariable: NAME=old` → `ChanVariable: NAME=<values[NAME] or empty>`."""
    head, sep, rest = line.partition(b": ")
    name = rest.split(b"=", 1)[0]
    return head + sep + name + b"=" + values.get(name.decode(), "").encode()


_MAIN_RUN = re.compile(rb"(?:\r\nChanVariable: [^\r\n]*)+")
_DEST_RUN = re.compile(rb"(?:\r\nDestChanVariable: [^\r\n]*)+")
_RESPONSE_RUN = re.compile(rb"(\r\nChanVariable\(([^)\r\n]*)\): [^\r\n]*)+")


class VariableLines:
    """The originated channel's `ChanVariable` lines for one call, before and after the
    Originate's variables are set (rendered once; every event then swaps its run of lines)."""

    def __init__(self, names: Sequence[str], values: Mapping[str, str]) -> None:
        self.names = tuple(names)
        self.values = dict(values)

        def lines(prefix: str, with_values: bool) -> bytes:
            return "".join(f"\r\n{prefix}: {n}={self.values.get(n, '') if with_values else ''}"
                           for n in self.names).encode()

        self.main = {False: lines("ChanVariable", False), True: lines("ChanVariable", True)}
        self.dest = {False: lines("DestChanVariable", False),
                     True: lines("DestChanVariable", True)}

    def rewrite(self, data: bytes, info: EventVars) -> bytes:
        """The event with the originated channel's lines holding this call's values once set."""
        if info.main_is_originated:
            data = _MAIN_RUN.sub(lambda _m: self.main[info.set], data, count=1)
        if info.dest_is_originated:
            data = _DEST_RUN.sub(lambda _m: self.dest[info.set], data, count=1)
        if b"\r\nChanVariable(" in data:
            def response(match: re.Match[bytes]) -> bytes:
                channel = match.group(2).decode()
                return "".join(f"\r\nChanVariable({channel}): {n}={self.values.get(n, '')}"
                               for n in self.names).encode()
            data = _RESPONSE_RUN.sub(response, data, count=1)
        return data


def variable_varsets(data: bytes, variables: Sequence[tuple[str, str]]) -> bytes:
    """The recorded first Originate VarSet → one VarSet per variable, last given first, each
    with the variables set so far in its `ChanVariable` lines (Asterisk sets them in that order)."""
    body = data[:-4].split(CRLF)
    out = []
    done: dict[str, str] = {}
    for name, value in reversed(variables):
        done[name] = value
        lines = []
        for line in body:
            if line.startswith(b"Variable: "):
                line = b"Variable: " + name.encode()
            elif line.startswith(b"Value: "):
                line = b"Value: " + value.encode()
            elif line.startswith(b"ChanVariable: "):
                line = _with_value(line, done)
            lines.append(line)
        out.append(CRLF.join(lines) + b"\r\n\r\n")
    return b"".join(out)


class DialerCall(SimCall):
    def __init__(self, *, dialer: DialerTemplate, values: list[bytes], speed: float, emit: Emit,
                 info: Mapping[str, object], offsets: Sequence[float],
                 variables: Sequence[tuple[str, str]], is_async: bool, call_id: str | None,
                 choose_agent: ChooseAgent, line: QueueLine, bind_agent: BindAgent,
                 abandon: Abandon,
                 queue_wait: float, unanswered: Callable[[str], bytes]) -> None:
        super().__init__(scenario="dialer", template=dialer.template, values=values, speed=speed,
                         hold_at=None, hold_for=None, emit=emit, info=info)
        if call_id is not None:
            self.call_id = call_id
        self.dialer = dialer
        self.response: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._offsets = list(offsets)
        self._variables = list(variables)
        self._lines = VariableLines(dialer.channel_variables, dict(variables))
        self._is_async = is_async
        self._choose_agent = choose_agent
        self._line = line
        self._bind_agent = bind_agent
        self._abandon = abandon
        self._queue_wait = queue_wait
        self.responded = False
        self._unanswered = unanswered

    def hangup_response(self) -> bytes:
        """Hung up before the originated channel answered: the OriginateResponse Asterisk sends
        then (Failure, Reason 1), or nothing when it was sent already or the Originate waits
        synchronously (that session gets `Originate failed` instead)."""
        if self.responded:
            return b""
        self._responded(False)
        return self._unanswered(f"{time.time():.6f}") if self._is_async else b""

    @property
    def setting_up(self) -> bool:
        """Its agent stays spoken for until the call is over (the table alone lags a queue
        that has picked a member but not yet created its channel)."""
        return self.state not in ("done", "hungup")

    async def play(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        batch: list[tuple[CompiledEvent, bytes]] = []
        values = self._values
        dialer = self.dialer
        try:
            for index, event in enumerate(self._template.events):
                if index == dialer.queue_index:
                    self._flush(batch)
                    waited_from = loop.time()
                    if not await self._wait_for_agent():
                        await self._abandon(self, loop.time() - waited_from)
                        return
                    start += loop.time() - waited_from
                delay = start + self._offsets[index] - loop.time()
                if delay > 0:
                    self._flush(batch)
                    await asyncio.sleep(delay)
                values[0] = b"%.6f" % time.time()
                data = render(event, values)
                info = dialer.events[index]
                if info.group == 1:
                    data = variable_varsets(data, self._variables)
                elif info.group == 2:
                    continue
                else:
                    data = self._lines.rewrite(data, info)
                if index == dialer.response_index and not self._is_async:
                    # the waiting session answers the action now, before the call goes on
                    batch.append((replace(event, sent=False), data))
                    self._flush(batch)
                    self._responded(b"\r\nResponse: Success\r\n" in data)
                    await asyncio.sleep(0)
                    continue
                if index == dialer.response_index:
                    self._responded(b"\r\nResponse: Success\r\n" in data)
                batch.append((event, data))
            self._flush(batch)
        finally:
            if self.state != "hungup":
                self.state = "done"
            if not self.response.done():
                self.response.set_result(False)
            self._held.set()
            self._done.set()

    def _responded(self, answered: bool) -> None:
        self.responded = True
        if not self.response.done():
            self.response.set_result(answered)

    async def _wait_for_agent(self) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._queue_wait
        self._line.join(self.call_id)
        try:
            while True:
                agent = self._choose_agent() if self._line.first() == self.call_id else None
                if agent is not None:
                    self.info["agents"] = [agent]
                    self._bind_agent(self._values, agent)
                    return True
                if loop.time() >= deadline:
                    return False
                await self._line.wait_change(AGENT_POLL)
        finally:
            self._line.leave(self.call_id)
