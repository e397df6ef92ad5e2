"""The Originate executor: places one dialer call on the live AMI session and resolves to its
outcome.

    executor = OriginateExecutor(listener, OriginateSettings(trunk="PJSIP/{number}@trunk"))
    result = await executor.place(OriginateRequest(attempt_id, channel_id, Order.AGENT_FIRST,
                                                   number="+525512345678",
                                                   endpoint="PJSIP/6001", ...))

The Originate matches asterisk-config/extensions.conf: agent first rings the agent's endpoint and
runs context `dialer` at the customer's number; customer first rings the trunk dial string and
runs `dialer-connect` at `ventas` (the queue) or `amd` (answering-machine detection first). It is
always `Async: true` with our own ActionID and `ChannelId` (= the call id the tracker gives the
call, and the Linkedid of every leg), the campaign's caller ID, a ring timeout and the channel
variables CAMPAIGN_ID, PREINST_ID and SP_CALL (the attempt id; manager.conf channelvars), plus,
agent first, SP_CID: the caller ID number the dialplan presents to the customer.

The attempt is registered with the AttemptTracker before the action is written; the executor is
also the listener's event sink (`put_nowait`, synchronous, never raises), so the tracker sees the
OriginateResponse in stream order with the channel events. An attempt ends as:
- the tracker's classification (OriginateResponse / DialEnd / Hangup combined), or
- `Outcome.INTERRUPTED` when AMI is not connected (nothing written), when the session is lost
  while the attempt is live (its events are gone), when Asterisk does not answer the Originate
  within the ring timeout plus a margin, or when the call outlives `max_call_seconds`. The caller
  must not count an interrupted attempt against the customer (DialerStore.release).
"""
from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from common.dialer.outcomes import AttemptResult, Order, Outcome
from common.envelope import CAMPAIGN_VARIABLE, DIALER_CALL_VARIABLE, PREINSTALLATION_VARIABLE
from telephony.ami.listener import AmiUnavailable, Resync
from telephony.dialer.attempts import AttemptTracker

log = logging.getLogger(__name__)

AGENT_FIRST_CONTEXT = "dialer"
CUSTOMER_FIRST_CONTEXT = "dialer-connect"
QUEUE_EXTEN = "ventas"
CALLER_ID_VARIABLE = "SP_CID"  # agent first: the number the customer sees
AMD_EXTEN = "amd"


class ActionWriter(Protocol):
    """The live AMI session (telephony.ami.listener.AmiListener)."""

    def send_action(self, action: dict[str, Any]) -> asyncio.Future: ...


@dataclass(frozen=True)
class OriginateSettings:
    trunk: str = "PJSIP/{number}@trunk"   # customer first: the trunk dial string, {number} = digits
    answer_margin: float = 15.0           # past the ring timeout, for Asterisk's OriginateResponse
    max_call_seconds: float = 4 * 3600.0  # a call still up after this is given up on

    def __post_init__(self) -> None:
        if "{number}" not in self.trunk:
            raise ValueError("DIALER_TRUNK debe contener {number}, p. ej. PJSIP/{number}@trunk")


@dataclass(frozen=True)
class OriginateRequest:
    attempt_id: str                  # the attempt's id (SP_CALL) and the tracker's key
    channel_id: str                  # Originate ChannelId: the call id of every event of the call
    order: Order
    number: str                      # the customer's number, E.164 (+52…) or digits
    endpoint: str | None = None      # agent first: the agent's phone, e.g. PJSIP/6001
    caller_id: str | None = None     # what the called party sees: '"Campaña" <5550001000>'
    campaign_id: str | None = None
    preinstallation_id: str | None = None
    amd: bool = False                # customer first: answering-machine detection before the queue
    ring_seconds: float = 30.0
    variables: Mapping[str, str] = field(default_factory=dict)  # more channel variables

    @property
    def action_id(self) -> str:
        return f"dialer-{self.attempt_id}"


@dataclass(frozen=True)
class PlacedCall:
    result: AttemptResult
    call_id: str | None    # the call record's id when Asterisk created a channel, else None
    written: bool          # whether the Originate reached Asterisk at all


def digits(number: str) -> str:
    return "".join(ch for ch in number if ch.isdigit())


def caller_number(caller_id: str | None) -> str:
    """The number of a caller ID: '"Campaña" <5550001000>' → '5550001000'."""
    if not caller_id:
        return ""
    inside = caller_id.rpartition("<")[2].partition(">")[0] if "<" in caller_id else caller_id
    return digits(inside)


def build_originate(request: OriginateRequest, settings: OriginateSettings) -> dict[str, Any]:
    """The AMI Originate action for a request (pure)."""
    number = digits(request.number)
    if not number:
        raise ValueError(f"número sin dígitos: {request.number!r}")
    if request.order is Order.AGENT_FIRST:
        if not request.endpoint:
            raise ValueError("una llamada con el asesor primero necesita su extensión")
        channel, context, exten = request.endpoint, AGENT_FIRST_CONTEXT, number
    else:
        channel = settings.trunk.format(number=number)
        context, exten = CUSTOMER_FIRST_CONTEXT, AMD_EXTEN if request.amd else QUEUE_EXTEN
    variables = {CAMPAIGN_VARIABLE: request.campaign_id or "",
                 PREINSTALLATION_VARIABLE: request.preinstallation_id or "",
                 DIALER_CALL_VARIABLE: request.attempt_id, **request.variables}
    presented = caller_number(request.caller_id)
    if presented and request.order is Order.AGENT_FIRST:
        # extensions.conf [dialer] presents it to the customer (the agent's phone shows CallerID)
        variables[CALLER_ID_VARIABLE] = presented
    for name, value in variables.items():
        if any(ch in str(value) for ch in ",\r\n") or any(ch in name for ch in "=,\r\n"):
            raise ValueError(f"variable de canal inválida {name}={value!r}")
    action = {"Action": "Originate", "ActionID": request.action_id, "Channel": channel,
              "Context": context, "Exten": exten, "Priority": "1", "Async": "true",
              "ChannelId": request.channel_id,
              "Timeout": str(int(request.ring_seconds * 1000)),
              "Variable": ",".join(f"{name}={value}" for name, value in variables.items())}
    if request.caller_id:
        action["CallerID"] = request.caller_id
    return action


@dataclass
class _Live:
    request: OriginateRequest
    result: asyncio.Future
    written: bool = False
    had_channel: bool = False


class OriginateExecutor:
    """Places attempts (`place`) and is the listener's sink for their events (`put_nowait`)."""

    def __init__(self, ami: ActionWriter, settings: OriginateSettings | None = None, *,
                 on_written: Callable[[OriginateRequest], None] | None = None) -> None:
        self._ami = ami
        self.settings = settings or OriginateSettings()
        self.on_written = on_written  # called right after each Originate is written
        self.ami_connected = False
        self._tracker = AttemptTracker()
        self._live: dict[str, _Live] = {}
        self._by_channel: dict[str, str] = {}
        self.outcomes: Counter[str] = Counter()
        self.errors = 0

    @property
    def in_flight(self) -> int:
        return len(self._live)

    async def place(self, request: OriginateRequest) -> AttemptResult:
        """Places the call and returns its outcome once every leg has hung up (or
        `Outcome.INTERRUPTED`, see the module's docstring). `attempt_id` and `channel_id` must
        be unique (e.g. `cb-<uuid hex>`): a repeated one, a number without digits, an agent-first
        request without endpoint or a variable holding `,` raise ValueError, nothing written.
        In the telephony process the executor is `TelephonyService.dialer.executor`."""
        return (await self.place_call(request)).result

    async def place_call(self, request: OriginateRequest) -> PlacedCall:
        """`place`, also saying the call's id (None when Asterisk made no channel) and whether
        the Originate was written."""
        action = build_originate(request, self.settings)
        key = request.attempt_id
        if key in self._live:
            raise ValueError(f"el intento {key} ya se está marcando")
        live = _Live(request, asyncio.get_running_loop().create_future())
        self._live[key] = live
        self._by_channel[request.channel_id] = key
        self._tracker.expect(key, action_id=request.action_id, order=request.order,
                             channel_id=request.channel_id)
        try:
            try:
                answer = self._ami.send_action(action)
            except AmiUnavailable as exc:
                self._interrupt(key, f"no se escribió el Originate: {exc}")
                return self._placed(live)
            live.written = True
            if self.on_written is not None:
                self.on_written(request)
            await self._wait_answer(live, answer)
            try:
                await asyncio.wait_for(asyncio.shield(live.result), self.settings.max_call_seconds)
            except TimeoutError:
                self._interrupt(key, f"la llamada sigue tras {self.settings.max_call_seconds:g} s")
            return self._placed(live)
        finally:
            self._live.pop(key, None)
            self._by_channel.pop(request.channel_id, None)

    async def _wait_answer(self, live: _Live, answer: asyncio.Future) -> None:
        request = live.request
        budget = request.ring_seconds + self.settings.answer_margin
        done, _ = await asyncio.wait({answer, live.result}, timeout=budget,
                                     return_when=asyncio.FIRST_COMPLETED)
        if answer in done:
            reply = answer.result()
            first = reply[0] if isinstance(reply, list) else reply
            if first.get("Response") != "Success":
                log.warning("Originate refused attempt=%s: %s", request.attempt_id,
                            first.get("Message", ""))
                self._feed({"Response": "Error", "ActionID": request.action_id})
        elif live.result not in done:
            answer.cancel()
            self._interrupt(request.attempt_id,
                            f"Asterisk no respondió al Originate en {budget:g} s")

    def _placed(self, live: _Live) -> PlacedCall:
        result = live.result.result()
        self.outcomes[str(result.outcome)] += 1
        call_id = live.request.channel_id if live.had_channel else None
        return PlacedCall(result, call_id, live.written)

    # --- the listener's side ---------------------------------------------------------------
    def put_nowait(self, item: dict[str, str] | Resync) -> None:
        if isinstance(item, Resync) or not self._live:
            return
        try:
            self._feed(item)
        except Exception:
            self.errors += 1
            log.exception("dialer attempt tracker failed on %.200r", item)

    def ami_state(self, state: str) -> None:
        """AMI left `connected`: the live attempts' events are lost, each ends interrupted."""
        self.ami_connected = state == "connected"
        if self.ami_connected:
            return
        for key in list(self._live):
            self._interrupt(key, f"se perdió la conexión con AMI ({state})")

    def _feed(self, item: Mapping[str, str]) -> None:
        if item.get("Event") == "Newchannel":
            key = self._by_channel.get(item.get("Linkedid", ""))
            if key is not None:
                self._live[key].had_channel = True
        for key, result in self._tracker.feed(item):
            live = self._live.get(key)
            if live is not None and not live.result.done():
                live.result.set_result(result)

    def _interrupt(self, key: str, detail: str) -> None:
        live = self._live.get(key)
        if live is None or live.result.done():
            return
        log.warning("dialer attempt %s interrupted: %s", key, detail)
        self._tracker.forget(key)
        live.result.set_result(AttemptResult(Outcome.INTERRUPTED, False, None, None, None,
                                             detail))
