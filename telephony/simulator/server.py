"""PbxSimulator: an AMI TCP server that plays recorded Asterisk 20 call scenarios."""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlencode

from telephony.ami.frames import encode, join_repeated, parse_block
from telephony.channels import endpoint_name
from telephony.simulator.agi_client import run_agi
from telephony.simulator.call import IdSource, SimCall, bind_values
from telephony.simulator.catalogue import (
    IVR_SCENARIOS,
    QUEUE_SCENARIOS,
    Catalogue,
    ScenarioError,
    endpoint_ext,
)
from telephony.simulator.channels import ChannelTable, LiveChannel, snapshot_pairs
from telephony.simulator.dialer import QUEUE, DialerFloor
from telephony.simulator.dialer_call import DialerCall
from telephony.simulator.dialer_events import abandon_events, unanswered_response
from telephony.simulator.ivr import IvrChannel, first_uniqueid, originate_annotator
from telephony.simulator.originate import OriginateRequest
from telephony.simulator.session import AmiSession
from telephony.simulator.template import CompiledEvent

log = logging.getLogger(__name__)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("simulated call %s stopped: %r", task.get_name(), task.exception())


MAX_WRITE_BUFFER = 16 * 1024 * 1024
STOP_TIMEOUT = 5.0


def callback_steps(template) -> list[int]:
    """Indexes of the events where the dialplan runs the FastAGI `callback` script."""
    return [i for i, event in enumerate(template.events)
            if event.name == "Newexten" and b"/callback?" in event.fmt]


class PbxSimulator:
    def __init__(self, username: str = "screenpop", secret: str = "screenpop-demo",
                 host: str = "127.0.0.1", port: int = 0, login_failure_delay: float = 1.0,
                 *, catalogue: Catalogue | None = None, default_speed: float = 1.0,
                 default_hold: float | None = None, ring_in_use: bool = True,
                 max_write_buffer: int = MAX_WRITE_BUFFER,
                 agi_target: tuple[str, int] | None = None,
                 dialer: DialerFloor | None = None,
                 monitor: Callable[[bytes], None] | None = None) -> None:
        """`default_hold`: seconds an answered call stays up when the caller names no hold
        (None: as recorded, a few seconds). `ring_in_use=False` is a queue with `ringinuse=no`,
        as the recorded traces were made: members already on a call are not rung.
        `agi_target` (host, port): the FastAGI server an IVR call's `lookup` step runs against, as
        the dialplan's AGI(agi://…/lookup) does; None: the look-up fails, as with the server down.
        `dialer`: the agents, trunk, outcome mix and delays dialer Originates meet.
        `monitor` is shown every event the clients are sent (mixmonitor.MixMonitor.feed)."""
        self.username = username
        self.secret = secret
        self.host = host
        self.login_failure_delay = login_failure_delay
        self.default_speed = default_speed
        self.default_hold = default_hold
        self.ring_in_use = ring_in_use
        self.max_write_buffer = max_write_buffer
        self.agi_target = agi_target
        self.answer_pings = True
        self.shutting_down = False  # answer every action as an Asterisk that is stopping does
        self.logins = 0
        self.catalogue = catalogue or Catalogue()
        self.dialer = dialer or DialerFloor()
        self._monitor = monitor
        self.table = ChannelTable()
        self.started_at = time.monotonic()
        self._requested_port = port
        self._server: asyncio.Server | None = None
        self._sessions: set[AmiSession] = set()
        self._session_tasks: set[asyncio.Task[None]] = set()
        self._calls: dict[str, SimCall] = {}
        self._call_tasks: dict[str, asyncio.Task[None]] = {}
        self._ids = IdSource.fresh()
        self._action_ids = itertools.count(1)

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self._requested_port)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("simulator not started")
        return self._server.sockets[0].getsockname()[1]

    @property
    def sessions_count(self) -> int:
        """Client connections open now."""
        return len(self._sessions)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = [*self._call_tasks.values()]
        for task in tasks:
            task.cancel()
        await self.drop_connections()
        tasks += self._session_tasks
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_TIMEOUT)
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), STOP_TIMEOUT)
            self._server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = AmiSession(self, reader, writer)
        self._sessions.add(session)
        task = asyncio.current_task()
        if task is not None:
            self._session_tasks.add(task)
        try:
            await session.run()
        finally:
            self._sessions.discard(session)
            if task is not None:
                self._session_tasks.discard(task)

    # -- calls ------------------------------------------------------------------------------
    async def start_call(self, scenario: str, *, customer: str | None = None,
                         name: str | None = None, agents: Sequence[str] = ("PJSIP/6001",),
                         queue: str | None = None, strategy: str | None = None,
                         answered_by: str | None = None, ring_no_answer: Sequence[str] = (),
                         did: str | None = None, hold_at: str | None = None,
                         hold_for: float | None = None, speed: float | None = None,
                         channel_id: str | None = None, action_id: str | None = None,
                         variables: dict[str, str] | None = None) -> SimCall:
        """Start playing a scenario; returns at once with the call (see catalogue.SCENARIO_NAMES).
        `variables`: an Originate's channel variables, carried by the channel it creates."""
        for value in (customer, name, queue, did, channel_id, action_id, *agents,
                      *(variables or {}).values()):
            if value is not None and ("\r" in value or "\n" in value):
                raise ValueError("call parameters cannot hold line breaks")
        if scenario in QUEUE_SCENARIOS and not self.ring_in_use:
            busy = self.busy_endpoints()
            agents = [agent for agent in agents if agent not in busy]
            if not agents:
                raise ScenarioError("todos los asesores de la cola están en una llamada "
                                    "(ringinuse=no); espere a que alguno cuelgue")
            if answered_by in busy:
                answered_by = None
            if len(agents) == 1 and strategy in (None, "ringall"):
                strategy = "linear"  # ringall with one free member rings just that one
        choice = self.catalogue.choose(scenario, list(agents), strategy=strategy,
                                       answered_by=answered_by, ring_no_answer=ring_no_answer,
                                       customer=customer)
        template = self.catalogue.template(choice.key)
        params: dict[str, str] = {}
        for i, endpoint in enumerate(choice.agents):
            params[f"agent{i}_endpoint"] = endpoint
            params[f"agent{i}_ext"] = endpoint_ext(endpoint)
        for key, value in (("customer", customer), ("name", name), ("queue", queue),
                           ("strategy", strategy), ("did", did), ("action_id", action_id)):
            if value is not None:
                params[key] = value
        if "action_id" not in params:
            params["action_id"] = f"simulator-{next(self._action_ids)}"
        if hold_at is None and template.hold_index is not None:
            if hold_for is None:
                hold_for = self.default_hold
            if hold_for is not None:
                hold_at = "answered"
        values = bind_values(template, params, self._ids, first_uniqueid=channel_id)
        annotate = None
        steps: dict[int, Callable[[], Awaitable[None]]] = {}
        if scenario in IVR_SCENARIOS:
            recorded = dict(zip(template.literal_params, template.literals))
            call_params = {**recorded, **params}
            after_hours = scenario == "ivr_after_hours"
            lookup = {} if after_hours else await self._ivr_lookup(call_params)
            channel = IvrChannel(template, values, lookup, path="cerrado" if after_hours else "",
                                 path_steps=("c",) if after_hours else
                                 ("1", "c") if scenario == "ivr_callback" else None)
            annotate = channel.annotate
            steps = {index: self._agi_callback(call_params, channel, values, template,
                                               after_hours=after_hours)
                     for index in callback_steps(template)}
        elif variables:
            annotate = originate_annotator(template, values, variables)
        call = SimCall(scenario=scenario, template=template, values=values,
                       speed=self.default_speed if speed is None else speed, hold_at=hold_at,
                       hold_for=hold_for, emit=self._emit,
                       info={"variant": choice.key, "customer": customer,
                             "agents": list(choice.agents)},
                       annotate=annotate, steps=steps)
        self._launch(call)
        return call

    def _launch(self, call: SimCall) -> None:
        self._calls[call.call_id] = call
        task = asyncio.create_task(call.play(), name=f"sim-call-{call.call_id}")
        self._call_tasks[call.call_id] = task
        task.add_done_callback(lambda _t, cid=call.call_id: self._forget(cid))
        task.add_done_callback(_log_failure)

    async def originate(self, request: OriginateRequest) -> DialerCall:
        """Play a dialer Originate (agent first or customer first) the way Asterisk answered the
        recorded ones, with an outcome from the dialer floor's mix; returns at once. The call's
        `response` future tells whether the originated channel answered."""
        for value in (request.channel, request.customer, request.caller_name,
                      request.channel_id or "", request.action_id or "",
                      *(v for pair in request.variables for v in pair)):
            if "\r" in value or "\n" in value:
                raise ValueError("call parameters cannot hold line breaks")
        action_id = request.action_id or f"simulator-{next(self._action_ids)}"
        floor = self.dialer
        plan = floor.plan(request, self._ids, action_id, speed=self.default_speed)
        call = DialerCall(
            dialer=plan.dialer, values=plan.values, speed=self.default_speed, emit=self._emit,
            info={"variant": f"dialer:{request.order}:{plan.outcome}", "outcome": plan.outcome,
                  "customer": request.customer, "agents": [plan.agent] if plan.agent else []},
            offsets=plan.offsets, variables=request.variables, is_async=request.is_async,
            call_id=plan.call_id,
            choose_agent=lambda: floor.free_member(self.busy_endpoints()), line=floor.line,
            bind_agent=floor.agent_binder(plan.dialer), abandon=self._abandoned,
            queue_wait=floor.settings.queue_wait_seconds,
            unanswered=lambda stamp: unanswered_response(request, action_id, plan.uniqueid, stamp))
        self._launch(call)
        return call

    async def _abandoned(self, call: SimCall, held: float) -> None:
        """A queued customer nobody answered gives up and hangs up (app_queue's abandon)."""
        call.mark_hungup()
        stamp = f"{time.time():.6f}"
        for channel in self.table.owned_by(call.call_id):
            self.table.remove(channel.snapshot["Uniqueid"])
            for data, classes in abandon_events(snapshot_pairs(channel.snapshot), QUEUE, held,
                                                stamp):
                self._broadcast(data, classes)

    async def _ivr_lookup(self, params: dict[str, str]) -> dict[str, str]:
        """The variables the FastAGI `lookup` set for this caller (none when it failed)."""
        if self.agi_target is None:
            return {}
        host, port = self.agi_target
        did = params["did"]
        result = await run_agi(host, port, f"lookup?did={did}", caller=params.get("customer", ""),
                               did=did)
        log.info("ivr lookup for %s: %s %s", params.get("customer"), result.status,
                 result.variables)
        return result.variables

    def _agi_callback(self, params: dict[str, str], channel: IvrChannel, values: list[bytes],
                      template, *, after_hours: bool) -> Callable[[], Awaitable[None]]:
        """The dialplan's AGI(agi://…/callback?…) step, with what Asterisk expands into it: the
        queue, when the caller joined it (after hours: when they called), their record, the
        call's linkedid."""
        async def step() -> None:
            if self.agi_target is None:
                log.warning("ivr callback for %s: no FastAGI server to store it",
                            params.get("customer"))
                return
            state = channel.state
            state["SP_CALLBACK"] = "failed"  # extensions.conf, before the AGI
            entered = state["IVR_STARTED"] if after_hours else state.get("QUEUE_ENTERED", "")
            query = urlencode({"queue": params.get("queue") or "ventas", "entered": entered,
                               "preinst": state.get("SP_PREINST_ID", ""),
                               "call": first_uniqueid(template, values).decode()})
            host, port = self.agi_target
            result = await run_agi(host, port, f"callback?{query}",
                                   caller=params.get("customer", ""), did=params["did"])
            log.info("ivr callback for %s: %s %s", params.get("customer"), result.status,
                     result.variables)
            state.update(result.variables)  # what the script set, on the channel's next events

        return step

    def _forget(self, call_id: str) -> None:
        self._call_tasks.pop(call_id, None)
        call = self._calls.pop(call_id, None)
        if call is not None:
            for channel in self.table.owned_by(call_id):
                self.table.remove(channel.snapshot["Uniqueid"])
        self.dialer.line.poke()  # an agent may be free for a queued customer

    def busy_endpoints(self) -> set[str]:
        """Endpoints with a channel up now (`PJSIP/6001`), whatever call it belongs to, and the
        agents of calls still on their way to them."""
        busy = {endpoint_name(channel.snapshot["Channel"]) for channel in self.table.channels()}
        for call in self._calls.values():
            if call.setting_up:
                busy.update(call.info["agents"])  # type: ignore[arg-type]
        return busy

    def live_calls(self) -> list[SimCall]:
        return list(self._calls.values())

    def call(self, call_id: str) -> SimCall | None:
        return self._calls.get(call_id)

    async def hangup(self, call_id: str) -> bool:
        """End a call now: its playback stops and each of its live channels hangs up."""
        call = self._calls.get(call_id)
        task = self._call_tasks.get(call_id)
        if call is None or task is None:
            return False
        channels = self.table.owned_by(call_id)  # the task's end forgets them
        call.mark_hungup()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if isinstance(call, DialerCall):
            self._broadcast(call.hangup_response(), frozenset({"call"}))
        self._hangup_channels(channels)
        return True

    def _hangup_channels(self, channels: list[LiveChannel]) -> None:
        stamp = f"{time.time():.6f}"
        events = []
        for channel in channels:
            self.table.remove(channel.snapshot["Uniqueid"])
            events.append(encode([("Event", "Hangup"), ("Privilege", "call,all"),
                                  ("Timestamp", stamp), *snapshot_pairs(channel.snapshot),
                                  ("Cause", "16"), ("Cause-txt", "Normal Clearing")]))
        self._broadcast(b"".join(events), frozenset({"call"}))

    def _emit(self, call: SimCall, batch: list[tuple[CompiledEvent, bytes]]) -> None:
        now = time.monotonic()
        for event, data in batch:
            if event.table:
                self.table.apply(join_repeated(*parse_block(data[:-4])), now=now,
                                 owner=call.call_id)
        if self._monitor is not None:
            self._monitor(b"".join(data for event, data in batch if event.sent))
        for session in self._sessions:
            if not session.authenticated:
                continue
            chunk = b"".join(data for event, data in batch
                             if event.sent and session.wants(event.classes))
            if chunk:
                session.send(chunk)

    def _broadcast(self, data: bytes, classes: frozenset[str]) -> None:
        if self._monitor is not None:
            self._monitor(data)
        for session in list(self._sessions):
            if data and session.wants(classes):
                session.send(data)

    # -- faults ------------------------------------------------------------------------------
    async def drop_connections(self) -> None:
        """Abort every client socket (the peer sees a reset, not a clean close)."""
        for session in list(self._sessions):
            session.abort()

    async def send_raw(self, data: bytes) -> None:
        """Write bytes as they are to every logged-in session (bad-input tests)."""
        for session in list(self._sessions):
            if session.authenticated:
                session.send(data)
