"""One dialer Originate being played from its recorded template (see dialer_catalogue).

Beyond the generic playback (call.SimCall) it
- retimes the recording's waits (ring, talk, timeout) to the configured seconds;
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
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace

from telephony.simulator.call import Emit, SimCall
from telephony.simulator.dialer_catalogue import DialerTemplate, EventVars
from telephony.simulator.template import CompiledEvent, render

AGENT_POLL = 0.1  # seconds between looks for a free queue member
CRLF = b"\r\n"
_VAR_PREFIXES = (b"ChanVariable: ", b"DestChanVariable: ", b"ChanVariable(")

ChooseAgent = Callable[[], str | None]
BindAgent = Callable[[list[bytes], str], None]
Abandon = Callable[["DialerCall"], Awaitable[None]]


def retimed(offsets: Sequence[float], phases: Mapping[str, tuple[int, float]],
            seconds: Mapping[str, float]) -> list[float]:
    """The events' offsets with the named waits lasting `seconds` instead of as recorded."""
    shifts = sorted((phases[name][0], seconds[name] - phases[name][1])
                    for name in seconds if name in phases)
    out, shift, k = [], 0.0, 0
    for index, offset in enumerate(offsets):
        while k < len(shifts) and shifts[k][0] <= index:
            shift += shifts[k][1]
            k += 1
        out.append(max(0.0, offset + shift))
    return out


def _rewrite_line(line: bytes, values: Mapping[str, str], *, own: bool, is_set: bool) -> bytes:
    head, sep, rest = line.partition(b": ")
    name = rest.split(b"=", 1)[0]
    if not own:
        return line
    value = values.get(name.decode(), "") if is_set else ""
    return head + sep + name + b"=" + value.encode()


def rewrite_variables(data: bytes, info: EventVars, values: Mapping[str, str]) -> bytes:
    """The event with the originated channel's `ChanVariable` lines holding `values` once set."""
    if not (info.main_is_originated or info.dest_is_originated or b"ChanVariable(" in data):
        return data
    lines = data.split(CRLF)
    for i, line in enumerate(lines):
        if line.startswith(b"ChanVariable: "):
            lines[i] = _rewrite_line(line, values, own=info.main_is_originated, is_set=info.set)
        elif line.startswith(b"DestChanVariable: "):
            lines[i] = _rewrite_line(line, values, own=info.dest_is_originated, is_set=info.set)
        elif line.startswith(b"ChanVariable("):
            lines[i] = _rewrite_line(line, values, own=True, is_set=True)
    return CRLF.join(lines)


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
                line = _rewrite_line(line, done, own=True, is_set=True)
            lines.append(line)
        out.append(CRLF.join(lines) + b"\r\n\r\n")
    return b"".join(out)


class DialerCall(SimCall):
    def __init__(self, *, dialer: DialerTemplate, values: list[bytes], speed: float, emit: Emit,
                 info: Mapping[str, object], offsets: Sequence[float],
                 variables: Sequence[tuple[str, str]], is_async: bool, call_id: str | None,
                 choose_agent: ChooseAgent, bind_agent: BindAgent, abandon: Abandon,
                 queue_wait: float, unanswered: Callable[[str], bytes]) -> None:
        super().__init__(scenario="dialer", template=dialer.template, values=values, speed=speed,
                         hold_at=None, hold_for=None, emit=emit, info=info)
        if call_id is not None:
            self.call_id = call_id
        self.dialer = dialer
        self.response: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._offsets = list(offsets)
        self._variables = list(variables)
        self._values_by_name = dict(variables)
        self._is_async = is_async
        self._choose_agent = choose_agent
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
                        await self._abandon(self)
                        return
                    start += loop.time() - waited_from
                if self._speed > 0:
                    delay = start + self._offsets[index] * self._speed - loop.time()
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
                    data = rewrite_variables(data, info, self._values_by_name)
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
        deadline = loop.time() + self._queue_wait * (self._speed or 1.0)
        while True:
            agent = self._choose_agent()
            if agent is not None:
                self.info["agents"] = [agent]
                self._bind_agent(self._values, agent)
                return True
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(AGENT_POLL)
