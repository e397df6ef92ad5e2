"""What telephony knows about each call, as call-record facts (common.records).

The recorder sits beside the tracker, not in it: `RecordingFeed` shows it every AMI event before
the tracker reads it (channels by Uniqueid, who asked to hang up, the hang-up cause), and
`RecordingPublisher` every call update the tracker publishes (direction, customer, variables,
queue, agents' legs, times), each as an `Observation`. As deployed the recorder runs in the
record worker beside telephony (`worker_recorder`, common.records.offload): the pop path costs
one deque append per observation, and building the facts costs the loop nothing. Given a writer
of its own (tests, benchmarks), telephony runs it in its loop instead (`inline_recorder`), a
moment after the pops (`Later`).

- The record is written on the call's first update, `complete` at its `ended` update, so a crash
  mid-call leaves an incomplete record. Each call fact and agent fact carries all the recorder
  knows of that call or leg (`latest`): the writer writes only the last of a batch.
- Agents are numbered in the order they first reached the call; an agent's times are when its
  leg was first seen ringing, answered, and gone (transferred, ended, missed).
- Who hung up: the channel of the last HangupRequest of the call (an agent endpoint → 'agent',
  else 'customer'); only SoftHangupRequests (the dialplan or an AMI Hangup) → 'system'. The cause
  is that channel's Hangup cause, else the first channel's.
- After a resync, the incomplete records this node started for calls the tracker no longer has
  are completed with a gap note (the call ended while telephony was away); a call first seen at a
  resync gets a gap note too (its start was not observed).
- Hold: Asterisk raises `Hold` on the channel that put the call on hold (the agent's phone) and
  `Unhold` when it takes it back (a hang-up ends a hold too); each adds to the record's hold
  time and count, and to its timeline. Hold time is its own figure: talk time still runs from
  the answer to the end.
- The IVR: the channel variables IVR_PATH, IVR_STARTED, QUEUE_ENTERED, SP_MATCH and
  SP_PREINST_ID (manager.conf channelvars) give the menu keys, the time in the IVR, the queue
  wait and the FastAGI look-up's result.
- Calls no agent ever rang (the tracker publishes nothing for them): after hours, hung up in
  the menu, left the queue, asked to be called back, or a direct number whose agent could not be
  reached. Their record is written when their last channel hangs up, from what the channels
  carried: the caller's number, the queue, the IVR variables, who hung up, and why nobody took
  the call (`unreached`). Dialer calls are left to the dialer, which knows their customer and
  outcome (telephony.dialer.engine); an agent's own calls that never reached a customer
  (internal calls) leave no record.
- The recording: asterisk-config/extensions.conf records
  `${RECORDINGS}/${STRFTIME(${EPOCH},,%Y/%m/%d)}/${CHANNEL(linkedid)}.wav` when the call enters
  the dialplan; the linkedid is the call id and the date is the PBX's local date (TZ_NAME), so
  `recording_file` is that path below the recordings folder.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from common.envelope import CAMPAIGN_VARIABLE, DIALER_CALL_VARIABLE, CallUpdate
from common.phones import is_withheld
from common.records.facts import (
    CLOSED,
    NO_HOLD,
    RESYNC_START_GAP,
    Fact,
    Hold,
    Ivr,
    agent_fact,
    call_fact,
    channel_fact,
    event_fact,
    gap_fact,
    resync_end_fact,
)
from common.records.offload import RecorderSpec
from telephony.ami.frames import NOISE_EVENTS, channel_variables
from telephony.ami.listener import EventSink, Resync
from telephony.channels import EndpointMatcher

log = logging.getLogger(__name__)

CALLS_KEPT = 50_000  # calls followed at once (a tracker that never ends one cannot grow us)
_LEFT = frozenset({"transferred", "ended", "missed", "answered_elsewhere"})


@dataclass
class _Agent:
    rang_at: float | None = None
    answered_at: float | None = None
    left_at: float | None = None


@dataclass
class _Call:
    recording_file: str
    answered_at: float | None = None
    preinstallation_id: str | None = None  # the first one known (the record keeps that one)
    agents: dict[str, _Agent] = field(default_factory=dict)
    channels_written: set[str] = field(default_factory=set)
    last_written: tuple = ()  # the args of the call fact last submitted


@dataclass
class _Channels:
    """The channels Asterisk reported under one Linkedid, and how the call was hung up."""
    names: dict[str, str] = field(default_factory=dict)  # Uniqueid → channel name
    live: set[str] = field(default_factory=set)
    requested_by: str | None = None  # Uniqueid of the last HangupRequest
    system_request: bool = False  # a SoftHangupRequest came before any HangupRequest
    causes: dict[str, int] = field(default_factory=dict)
    on_hold: dict[str, float] = field(default_factory=dict)  # Uniqueid → on hold since
    held_seconds: float = 0.0  # holds that ended
    holds: int = 0
    # what a call no agent ever rang is recorded from
    started_at: float = 0.0
    seen_from_start: bool = False  # its first channel's Newchannel was seen
    caller: str | None = None  # the first channel's CallerIDNum
    queue: str | None = None
    variables: dict[str, str] = field(default_factory=dict)  # channelvars at each Hangup
    has_agent: bool = False

    def hold(self, now: float) -> Hold:
        running = sum(max(0.0, now - since) for since in self.on_hold.values())
        return Hold(self.held_seconds + running, self.holds)

    def unhold(self, uid: str, at: float) -> bool:
        since = self.on_hold.pop(uid, None)
        if since is not None:
            self.held_seconds += max(0.0, at - since)
        return since is not None


def recording_file(call_id: str, started_at: float, tz: ZoneInfo) -> str:
    return f"{datetime.fromtimestamp(started_at, tz):%Y/%m/%d}/{call_id}.wav"


def unreached_reason(variables: Mapping[str, str], queue: str | None) -> str:
    """Why an inbound call ended with no agent ever rung, from what extensions.conf left in its
    channel variables (migration 0007's values)."""
    if variables.get("SP_CALLBACK") == "ok":
        return "callback"
    if variables.get("IVR_PATH", "").startswith(CLOSED):
        return "after_hours"
    if queue or variables.get("QUEUE_ENTERED"):
        return "queue"
    if variables.get("IVR_STARTED"):
        return "ivr"
    return "failed"  # a direct number whose agent could not be called


class CallRecorder:
    def __init__(self, submit: Callable[[Fact], None], agents: EndpointMatcher, *, node: str,
                 tz_name: str) -> None:
        self._submit = submit
        self._agents = agents
        self._node = node
        self._tz = ZoneInfo(tz_name)
        self._calls: OrderedDict[str, _Call] = OrderedDict()
        self._by_linkedid: OrderedDict[str, _Channels] = OrderedDict()
        self._linkedid_of: dict[str, str] = {}
        self.resyncing = False

    # --- AMI events (before the tracker) ---------------------------------------------------
    def observe_event(self, event: Mapping[str, str]) -> None:
        name = event.get("Event")
        for prefix in ("", "Dest"):
            uid, linkedid = event.get(prefix + "Uniqueid"), event.get(prefix + "Linkedid")
            channel = event.get(prefix + "Channel")
            if uid and linkedid and channel and name != "Hangup":
                self._place(uid, linkedid, channel, event)
        uid = event.get("Uniqueid", "")
        group = self._by_linkedid.get(self._linkedid_of.get(uid, ""))
        if group is None:
            return
        if name in ("Newchannel", "NewCallerid") and uid == event.get("Linkedid"):
            group.caller = event.get("CallerIDNum") or group.caller
        elif name == "QueueCallerJoin":
            group.queue = event.get("Queue") or group.queue
        elif name in ("Hold", "Unhold"):
            self._hold(name, uid, group, event)
        elif name == "HangupRequest":
            group.requested_by = uid
        elif name == "SoftHangupRequest" and group.requested_by is None:
            group.system_request = True
        elif name == "Hangup":
            try:
                group.causes[uid] = int(event.get("Cause", ""))
            except ValueError:
                pass
            at = _event_time(event)
            group.unhold(uid, at)
            group.variables.update(channel_variables(event))
            group.live.discard(uid)
            linkedid = self._linkedid_of.pop(uid, "")
            if not group.live and linkedid not in self._calls:
                self._by_linkedid.pop(linkedid, None)  # never published
                self._unreached(linkedid, group, at)

    def _hold(self, name: str, uid: str, group: _Channels, event: Mapping[str, str]) -> None:
        at = _event_time(event)
        if name == "Hold":
            if uid in group.on_hold:
                return  # a repeated Hold of a channel already holding
            group.on_hold[uid] = at
            group.holds += 1
        elif not group.unhold(uid, at):
            return
        call_id = self._linkedid_of.get(uid, "")
        if call_id in self._calls:
            channel = group.names.get(uid, "")
            self._submit(event_fact(call_id, f"{name.lower()}:{uid}:{group.holds}", at,
                                    name.lower(), self._agents.endpoint_of(channel) or channel,
                                    {"channel": channel}))

    def _place(self, uid: str, linkedid: str, channel: str, event: Mapping[str, str]) -> None:
        previous = self._linkedid_of.get(uid)
        if previous == linkedid:
            return
        if previous is not None:
            old = self._by_linkedid.get(previous)
            if old is not None:
                old.live.discard(uid)
        group = self._by_linkedid.get(linkedid)
        if group is None:
            group = self._by_linkedid[linkedid] = _Channels(
                started_at=_event_time(event),
                seen_from_start=uid == linkedid and event.get("Event") == "Newchannel")
            while len(self._by_linkedid) > CALLS_KEPT:
                self._by_linkedid.popitem(last=False)
        if self._agents.endpoint_of(channel):
            group.has_agent = True
        group.names[uid] = channel
        group.live.add(uid)
        self._linkedid_of[uid] = linkedid
        if len(self._linkedid_of) > CALLS_KEPT * 4:  # channels whose Hangup never came
            del self._linkedid_of[next(iter(self._linkedid_of))]

    # --- call updates (as published) -------------------------------------------------------
    def observe_update(self, update: CallUpdate) -> None:
        call_id, at = update.call_id, update.event_at
        call = self._calls.get(call_id)
        if call is None:
            call = self._calls[call_id] = _Call(
                recording_file(call_id, update.started_at or at, self._tz))
            while len(self._calls) > CALLS_KEPT:
                self._calls.popitem(last=False)
            self._submit(event_fact(call_id, "started", update.started_at or at, "started",
                                    self._node, {"direction": update.direction}))
            if self.resyncing:
                self._submit(gap_fact(call_id, RESYNC_START_GAP))
        call.preinstallation_id = call.preinstallation_id or update.preinstallation_id
        if update.state == "answered" and call.answered_at is None:
            call.answered_at = at
        ended = update.state == "ended"
        group = self._by_linkedid.get(call_id)
        hangup_by, cause = self._hangup(call_id, group) if ended else (None, None)
        fact = call_fact(
            call_id, direction=update.direction, customer_number=update.customer_number,
            campaign_id=update.campaign_id, preinstallation_id=call.preinstallation_id,
            queue=update.queue, ring_at=update.started_at or at, answered_at=call.answered_at,
            ended_at=at if ended else None, hangup_by=hangup_by, hangup_cause=cause,
            recording_file=call.recording_file, complete=ended,
            hold=group.hold(at) if group is not None else NO_HOLD,
            ivr=Ivr.from_variables(update.variables), latest=call_id)
        if fact.args != call.last_written:  # an update of the agents' legs only: nothing new
            call.last_written = fact.args
            self._submit(fact)
        if group is not None:
            for uid, channel in group.names.items():
                if uid not in call.channels_written:
                    call.channels_written.add(uid)
                    self._submit(channel_fact(call_id, uid, channel))
        for endpoint, leg in update.agents.items():
            self._agent_leg(call_id, call, endpoint, leg, at)
        if ended:
            self._submit(event_fact(call_id, "ended", at, "ended", hangup_by,
                                    {"hangup_cause": cause}))
            self._calls.pop(call_id, None)
            if group is not None and not group.live:
                self._by_linkedid.pop(call_id, None)

    def _unreached(self, call_id: str, group: _Channels, at: float) -> None:
        """The record of a call that ended with no agent ever rung (see the module's notes)."""
        variables = group.variables
        if group.has_agent or not call_id or variables.get(CAMPAIGN_VARIABLE) \
                or variables.get(DIALER_CALL_VARIABLE):
            return
        reason = unreached_reason(variables, group.queue)
        ivr = Ivr.from_variables(variables)
        hangup_by, cause = self._hangup(call_id, group)
        self._submit(event_fact(call_id, "started", group.started_at, "started", self._node,
                                {"direction": "inbound"}))
        if not group.seen_from_start:
            self._submit(gap_fact(call_id, RESYNC_START_GAP))
        recorded = ivr.queue_entered_at is not None  # extensions.conf records from the queue on
        self._submit(call_fact(
            call_id, direction="inbound",
            customer_number=None if is_withheld(group.caller) else group.caller,
            campaign_id=None, preinstallation_id=None, queue=group.queue,
            ring_at=group.started_at, answered_at=None, ended_at=at, hangup_by=hangup_by,
            hangup_cause=cause,
            recording_file=recording_file(call_id, group.started_at, self._tz) if recorded
            else None, complete=True, hold=group.hold(at), ivr=ivr, unreached=reason))
        for uid, channel in group.names.items():
            self._submit(channel_fact(call_id, uid, channel))
        self._submit(event_fact(call_id, "ended", at, "ended", hangup_by,
                                {"hangup_cause": cause, "unreached": reason}))

    def _agent_leg(self, call_id: str, call: _Call, endpoint: str, leg: str, at: float) -> None:
        times = call.agents.get(endpoint)
        changed = times is None
        if times is None:
            times = call.agents[endpoint] = _Agent(rang_at=at)
        if leg == "answered" and times.answered_at is None:
            times.answered_at, changed = at, True
        if leg in _LEFT and times.left_at is None:
            times.left_at, changed = at, True
        if changed:
            self._submit(agent_fact(call_id, endpoint, rang_at=times.rang_at,
                                    answered_at=times.answered_at, left_at=times.left_at,
                                    latest=f"{call_id} {endpoint}"))
            self._submit(event_fact(call_id, f"agent:{endpoint}:{leg}", at, f"agent_{leg}",
                                    endpoint, {"endpoint": endpoint}))

    def _hangup(self, call_id: str, group: _Channels | None) -> tuple[str | None, int | None]:
        if group is None:
            return None, None
        by = None
        if group.requested_by is not None:
            channel = group.names.get(group.requested_by, "")
            by = "agent" if self._agents.endpoint_of(channel) else "customer"
        elif group.system_request:
            by = "system"
        cause = group.causes.get(group.requested_by or "", group.causes.get(call_id))
        if cause is None and group.causes:
            cause = next(iter(group.causes.values()))
        return by, cause

    # --- resync ----------------------------------------------------------------------------
    def resynced(self, live_call_ids: Collection[str], now: float) -> None:
        self._submit(resync_end_fact(self._node, list(live_call_ids), now))


class Later:
    """The recorder's work, run when the pops are out of the way: after the publisher's write to
    Redis (it calls `release`), and only while it has nothing else to send (`busy`), so records
    never hold back a pop's update. Without a write (events that changed no call, Redis away)
    it runs after `longest_wait`, and it never waits when more than `most_waiting` pieces have
    piled up. Work runs in the order it was added, in slices of at most `slice_seconds` with
    the loop free between them (a resync's hundreds of calls never hold the next DialBegin back
    for longer than a slice), and never raises."""

    def __init__(self, *, busy: Callable[[], bool] = lambda: False, longest_wait: float = 0.05,
                 slice_seconds: float = 0.00025, most_waiting: int = 20_000) -> None:
        self._work: deque[tuple[Callable, tuple]] = deque()
        self._busy = busy
        self._longest_wait = longest_wait
        self._slice = slice_seconds
        self._most_waiting = most_waiting
        self._timer: asyncio.TimerHandle | None = None
        self._soon = False  # a run is scheduled for the loop's next pass

    def add(self, work: Callable, *args) -> None:
        self._work.append((work, args))
        if self._timer is None and not self._soon:
            self._wait()

    @property
    def pending(self) -> int:
        return len(self._work)

    def release(self) -> None:
        if self._work and not self._soon:
            self._run_soon()

    def _wait(self) -> None:
        self._timer = asyncio.get_running_loop().call_later(self._longest_wait, self._run, True)

    def _run_soon(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._soon = True
        asyncio.get_running_loop().call_soon(self._run)

    def _run(self, waited: bool = False) -> None:
        self._soon = False
        if not waited and self._busy() and len(self._work) <= self._most_waiting:
            if self._timer is None:
                self._wait()  # the publisher's next write releases it
            return
        self._timer = None
        ends = time.perf_counter() + self._slice
        while self._work:
            work, args = self._work.popleft()
            try:
                work(*args)
            except Exception:
                log.exception("call record not updated from %.200r", args)
            if self._work and time.perf_counter() >= ends:
                self._run_soon()  # the rest after the I/O that waits
                return


Observation = tuple  # ("event", dict) · ("update", CallUpdate) · ("resyncing", bool) ·
# ("resynced", [live call ids], epoch): what the recorder is shown, in the tracker's order

# The fields of an AMI event that CallRecorder.observe_event reads: an event is shown to it as
# these alone, a quarter of its size (pickled for the record worker: 1.7 µs an event instead of
# 3.9 µs, measured on the recorded traces).
RECORDED_FIELDS = ("Event", "Uniqueid", "Linkedid", "Channel", "DestUniqueid", "DestLinkedid",
                   "DestChannel", "CallerIDNum", "Queue", "Cause", "Timestamp", "ChanVariable")


def recorded_part(event: Mapping[str, str]) -> dict[str, str]:
    return {key: event[key] for key in RECORDED_FIELDS if key in event}


def apply(recorder: CallRecorder, observation: Observation) -> None:
    kind = observation[0]
    if kind == "event":
        recorder.observe_event(observation[1])
    elif kind == "update":
        recorder.observe_update(observation[1])
    elif kind == "resyncing":
        recorder.resyncing = observation[1]
    elif kind == "resynced":
        recorder.resynced(observation[1], observation[2])
    else:
        raise ValueError(f"unknown observation {kind!r}")


def recorder_spec(agent_patterns: Sequence[str], *, node: str, tz_name: str) -> RecorderSpec:
    """The recorder a record worker runs for this node (see common.records.offload)."""
    return RecorderSpec("telephony.records:worker_recorder",
                        {"agent_patterns": list(agent_patterns), "node": node,
                         "tz_name": tz_name})


def worker_recorder(submit: Callable[[Fact], None], *, agent_patterns: Sequence[str], node: str,
                    tz_name: str) -> Callable[[Observation], None]:
    """In the record worker: a CallRecorder fed the node's observations."""
    recorder = CallRecorder(submit, EndpointMatcher(tuple(agent_patterns)), node=node,
                            tz_name=tz_name)
    return functools.partial(apply, recorder)


def inline_recorder(recorder: CallRecorder, later: Later) -> Callable[[Observation], None]:
    """The recorder in the service's own loop, each observation applied later (see Later)."""
    return lambda observation: later.add(apply, recorder, observation)


class RecordingFeed:
    """The listener's sink when records are on: the recorder is shown each item in the order
    the tracker feed handles it (each event before the tracker reads it), but for the noise (a
    channel's moves between calls show in the events that follow it)."""

    def __init__(self, feed: EventSink, observe: Callable[[Observation], None],
                 live_call_ids: Callable[[], Collection[str]], clock: Callable[[], float]) -> None:
        self._feed = feed
        self._observe = observe
        self._live_call_ids = live_call_ids
        self._clock = clock

    def put_nowait(self, item: dict[str, str] | Resync) -> None:
        observe = self._observe
        if not isinstance(item, Resync):
            if item.get("Event") not in NOISE_EVENTS:
                observe(("event", recorded_part(item)))
            self._feed.put_nowait(item)
            return
        observe(("resyncing", True))
        try:
            self._feed.put_nowait(item)
        finally:
            observe(("resyncing", False))
        try:
            observe(("resynced", list(self._live_call_ids()), self._clock()))
        except Exception:
            log.exception("call records: the calls live after the resync could not be read")


class RecordingPublisher:
    """The tracker feed's publisher when records are on: publishes, then shows the recorder."""

    def __init__(self, publisher, observe: Callable[[Observation], None]) -> None:
        self._publisher = publisher
        self._observe = observe

    def submit(self, update: CallUpdate) -> None:
        self._publisher.submit(update)
        self._observe(("update", update))


def _event_time(event: Mapping[str, str]) -> float:
    try:
        return float(event["Timestamp"])
    except (KeyError, ValueError):
        return time.time()

