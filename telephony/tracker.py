"""The call tracker: a pure state machine from AMI events to call envelopes (no I/O).

Channels are tracked by Uniqueid. A call's id is the Uniqueid of its first channel (the Linkedid
its channels carry when it starts); when Asterisk rewrites a channel's Linkedid to another call's
(bridges merged by an attended transfer) the channel moves to that call, whose id never changes.

Direction (decided when the call first reaches an agent, then fixed):
  outbound  the root channel is an agent endpoint (softphone dial, Originate to the agent first), or
            Asterisk originated the root channel and that same channel then rang the agents
            (predictive dialer: Originate to the customer first, then Queue);
  inbound   everything else (a trunk or a Local `…@from-pstn` caller; a simulated caller
            originated as a Local pair rings agents from its `;2` half, so it stays inbound).
After a resync the originate history is unknown: a call is outbound when its root is an agent or
the dialer tagged it (a `CAMPAIGN_ID` channel variable); its customer is the first number a
non-agent leg runs (`Exten`), else the digits the agent's phone dialled.

Customer number: inbound → the root's CallerIDNum (Newchannel, then NewCallerid until the first
update; later NewCallerids on a Local root only mirror the agent's connected line); outbound → the
digits dialled toward a non-agent leg (DialBegin DestExten/DialString, or the Exten of a successful
OriginateResponse of the root). The CallerIDNum of an agent leg is never used.

An agent's phone that starts a call (root agent channel in state Ring) is held back until it dials:
a call to another agent (a transfer consultation) is internal and never published.

Channel variables (manager.conf `channelvars`): Asterisk adds one `ChanVariable: NAME=value` header
per variable to every snapshot of a channel (`DestChanVariable:` for the second channel of an
event). Variables an Originate sets are empty on its Newchannel and carry their value from a later
event, so every event is read and the call is republished when a value arrives. The call's
variables are the non-empty values seen on any of its channels (the dialer tags the leg it
originates; the other legs stay empty and never erase a value).

Sequence numbers: every update of a call has a larger `seq` than the one before, also across a
restart of this process (pages drop an update older than the one they hold). A tracker numbers
its calls from a base read from the clock at start (milliseconds), not from Redis: the clock is
there before Redis answers (telephony starts and pops while Redis is away), it cannot be lost or
rolled back by a Redis flush or failover, and a call's few updates in one process never reach the
milliseconds that pass before the next process starts. Only a wall clock stepped back by more than
the restart took would break it.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from common.envelope import (
    CAMPAIGN_VARIABLE,
    DIALER_CALL_VARIABLE,
    PREINSTALLATION_VARIABLE,
    CallUpdate,
)
from common.phones import is_withheld
from telephony.ami.frames import channel_variables
from telephony.channels import EndpointMatcher
from telephony.legs import Call, Channel, answer, finish, ring, stop_ringing

# read from VarSet too, for a deployment with the dialplan class and no channelvars
VARIABLES = frozenset({CAMPAIGN_VARIABLE, PREINSTALLATION_VARIABLE, DIALER_CALL_VARIABLE, "CAMPAIGN"})
FAILED = frozenset({"NOANSWER", "BUSY", "CONGESTION", "CHANUNAVAIL", "CANCEL", "DONTCALL",
                    "TORTURE", "INVALIDARGS"})
_CREATES = frozenset({"Newchannel", "Newstate", "DialBegin", "AgentCalled", "AgentConnect",
                      "BridgeEnter", "QueueCallerJoin"})
_DEAD_MEMORY = 2048  # hung-up Uniqueids remembered so late events cannot revive them


def _dialled_digits(event: Mapping[str, str]) -> str | None:
    """The number a DialBegin toward a customer leg dialled. DestExten is only the caller's own
    Exten copied onto the new channel, so the dial string comes first."""
    target = (event.get("DialString") or "").split("@", 1)[0].rsplit("/", 1)[-1]
    target = target.removeprefix("sip:").removeprefix("tel:")
    if not is_withheld(target):
        return target
    exten = event.get("DestExten")
    return None if is_withheld(exten) else exten


def _timestamp(event: Mapping[str, str], default: float) -> float:
    try:
        return float(event["Timestamp"])
    except (KeyError, ValueError):
        return default


class CallTracker:
    def __init__(self, agents: EndpointMatcher, clock: Callable[[], float] = time.time, *,
                 seq_base: int | None = None) -> None:
        self._agents = agents
        self._clock = clock
        self._seq_base = int(clock() * 1000) if seq_base is None else seq_base
        self._channels: dict[str, Channel] = {}
        self._by_linkedid: dict[str, Call] = {}
        self._calls: dict[str, Call] = {}
        self._dead: dict[str, None] = {}
        self._touched: list[Call] = []
        self._handlers: dict[str, Callable[[Mapping[str, str]], None]] = {
            "Newchannel": self._on_snapshot, "Newstate": self._on_snapshot,
            "BridgeEnter": self._on_snapshot, "AgentConnect": self._on_pair,
            "NewCallerid": self._on_callerid, "DialBegin": self._on_dial_begin,
            "DialEnd": self._on_dial_end, "AgentCalled": self._on_agent_called,
            "AgentRingNoAnswer": self._on_no_answer, "QueueCallerJoin": self._on_queue_join,
            "Hangup": self._on_hangup, "BlindTransfer": self._on_transfer,
            "AttendedTransfer": self._on_transfer, "OriginateResponse": self._on_originated,
            "VarSet": self._on_varset,
        }

    # --- public API --------------------------------------------------------------------------
    def feed(self, event: Mapping[str, str]) -> list[CallUpdate]:
        handler = self._handlers.get(event.get("Event"))  # type: ignore[arg-type]
        if handler is not None:
            handler(event)
        if "ChanVariable" in event or "DestChanVariable" in event:
            self._read_variables(event)
        return self._flush() if self._touched else []

    def resync(self, channels: Sequence[Mapping[str, str]]) -> list[CallUpdate]:
        groups: dict[str, list[Mapping[str, str]]] = {}
        for snap in channels:
            if snap.get("Uniqueid") and snap.get("Channel"):
                groups.setdefault(snap.get("Linkedid") or snap["Uniqueid"], []).append(snap)
        now = self._clock()
        live = [self._rebuild(linkedid, snaps, now) for linkedid, snaps in groups.items()]
        for call in list(self._calls.values()):
            if all(call is not other for other in live):
                for ch in list(call.channels.values()):
                    self._drop(ch)
                self._end(call)
                self._touched.append(call)
        # the live calls are re-sent below, whatever the rebuild touched
        self._touched = [call for call in self._touched if all(call is not c for c in live)]
        updates = self._flush()
        for call in live:
            if any(leg in ("ringing", "answered") for leg in call.agents().values()):
                call.picture = None  # re-send even if nothing changed
                update = self._publish(call)
                if update:
                    updates.append(update)
        return updates

    def live_calls(self) -> list[CallUpdate]:
        return [call.last for call in self._calls.values() if call.last is not None]

    def live_call_ids(self) -> set[str]:
        """Every call Asterisk has that the tracker holds, published or not."""
        return set(self._calls)

    # --- channels and calls -------------------------------------------------------------------
    def _touch(self, event: Mapping[str, str], prefix: str = "") -> Channel | None:
        """The channel of one snapshot in the event (created if new), its state applied."""
        uid = event.get(prefix + "Uniqueid")
        if not uid:
            return None
        linkedid = event.get(prefix + "Linkedid") or uid
        ch = self._channels.get(uid)
        if ch is None:
            name = event.get(prefix + "Channel")
            if not name or uid in self._dead or event.get("Event") not in _CREATES:
                return None
            ch = self._new_channel(uid, name, linkedid, event)
        elif linkedid not in ch.call.linkedids:
            self._relink(ch, linkedid)
        state = event.get(prefix + "ChannelState")
        if state == "6":
            answer(ch)
        elif state == "5" or (state == "4" and ch.uid == ch.call.id):
            ring(ch)
        self._touched.append(ch.call)
        return ch

    def _new_channel(self, uid: str, name: str, linkedid: str, event: Mapping[str, str]) -> Channel:
        call = self._by_linkedid.get(linkedid)
        if call is None:
            call = Call(linkedid, _timestamp(event, self._clock()), self._seq_base)
            self._calls[linkedid] = call
            self._by_linkedid[linkedid] = call
        ch = Channel(uid, name, self._agents.endpoint_of(name), call)
        call.channels[uid] = ch
        self._channels[uid] = ch
        if uid == call.id:
            call.root_is_agent = ch.endpoint is not None
            call.deferred = call.root_is_agent
            call.caller_number = event.get("CallerIDNum")
        return ch

    def _relink(self, ch: Channel, linkedid: str) -> None:
        target = self._by_linkedid.get(linkedid)
        if target is None:
            ch.call.linkedids.add(linkedid)
            self._by_linkedid[linkedid] = ch.call
            return
        old = ch.call
        del old.channels[ch.uid]
        target.channels[ch.uid] = ch
        ch.call = target
        self._touched.append(old)
        if not old.channels:
            self._end(old)

    def _drop(self, ch: Channel) -> None:
        finish(ch)
        call = ch.call
        call.channels.pop(ch.uid, None)
        self._channels.pop(ch.uid, None)
        self._dead[ch.uid] = None
        if len(self._dead) > _DEAD_MEMORY:
            del self._dead[next(iter(self._dead))]
        self._touched.append(call)
        if not call.channels:
            self._end(call)

    def _end(self, call: Call) -> None:
        self._calls.pop(call.id, None)
        for linkedid in call.linkedids:
            if self._by_linkedid.get(linkedid) is call:
                del self._by_linkedid[linkedid]

    # --- event handlers -----------------------------------------------------------------------
    def _on_snapshot(self, event: Mapping[str, str]) -> None:
        self._touch(event)

    def _on_pair(self, event: Mapping[str, str]) -> None:
        self._touch(event)
        self._touch(event, "Dest")

    def _on_callerid(self, event: Mapping[str, str]) -> None:
        ch = self._touch(event)
        if ch is not None and ch.uid == ch.call.id and ch.call.last is None:
            ch.call.caller_number = event.get("CallerIDNum")

    def _on_queue_join(self, event: Mapping[str, str]) -> None:
        ch = self._touch(event)
        if ch is not None:
            ch.call.queue = event.get("Queue") or ch.call.queue

    def _on_agent_called(self, event: Mapping[str, str]) -> None:
        caller = self._touch(event)
        dest = self._touch(event, "Dest")
        if dest is None:
            return
        dest.call.queue = event.get("Queue") or dest.call.queue
        self._rings_agent(caller, dest)

    def _on_dial_begin(self, event: Mapping[str, str]) -> None:
        caller = self._touch(event)
        dest = self._touch(event, "Dest")
        if dest is None:
            return
        call = dest.call
        if caller is None and dest.uid == call.id:
            call.root_originated = True
            call.deferred = False
        if dest.endpoint:
            self._rings_agent(caller, dest)
            return
        digits = _dialled_digits(event)
        if call.dialled is None and digits:
            call.dialled = digits
        if caller is not None and caller.uid == call.id:
            call.deferred = False

    def _rings_agent(self, caller: Channel | None, dest: Channel) -> None:
        ring(dest)
        call = dest.call
        if caller is None:
            return
        if call.agent_caller is None:
            call.agent_caller = caller.uid
        if caller.uid == call.id and call.deferred:
            call.internal = True
        if caller.endpoint and caller.endpoint != dest.endpoint and caller.name.endswith(";2"):
            # a Local agent channel (`Local/6001@from-queue`) dialling the phone: the phone counts
            proxy = caller.endpoint
            for ch in call.channels.values():
                if ch.endpoint == proxy:
                    ch.endpoint, ch.leg = None, None
            call.finished.pop(proxy, None)

    def _on_dial_end(self, event: Mapping[str, str]) -> None:
        self._touch(event)
        dest = self._touch(event, "Dest")
        if dest is None:
            return
        status = event.get("DialStatus")
        if status == "ANSWER":
            answer(dest)
        elif status in FAILED:
            stop_ringing(dest)

    def _on_no_answer(self, event: Mapping[str, str]) -> None:
        dest = self._touch(event, "Dest")
        if dest is not None:
            stop_ringing(dest)

    def _on_hangup(self, event: Mapping[str, str]) -> None:
        ch = self._channels.get(event.get("Uniqueid", ""))
        if ch is not None:
            self._drop(ch)

    def _on_transfer(self, event: Mapping[str, str]) -> None:
        for prefix in ("Transferer", "OrigTransferer", "SecondTransferer"):
            uid = event.get(prefix + "Uniqueid")
            if not uid:
                continue
            ch = self._channels.get(uid)
            if ch is not None:
                if ch.endpoint and ch.leg:
                    ch.leg = "transferred"
                self._touched.append(ch.call)
                continue
            call = self._by_linkedid.get(event.get(prefix + "Linkedid", ""))
            endpoint = self._agents.endpoint_of(event.get(prefix + "Channel", ""))
            if call is not None and endpoint in call.finished:
                call.finished[endpoint] = "transferred"
                self._touched.append(call)

    def _on_originated(self, event: Mapping[str, str]) -> None:
        call = self._calls.get(event.get("Uniqueid", ""))
        exten = event.get("Exten")
        if call is not None and event.get("Response") == "Success" and exten and exten != "s":
            if call.dialled is None:
                call.dialled = exten
                self._touched.append(call)

    def _on_varset(self, event: Mapping[str, str]) -> None:
        name = event.get("Variable")
        if name not in VARIABLES:
            return  # most of a real stream when the dialplan class is on
        ch = self._channels.get(event.get("Uniqueid", ""))
        if ch is not None:
            self._set_variables(ch.call, [(name, event.get("Value", ""))])

    def _read_variables(self, event: Mapping[str, str]) -> None:
        for prefix in ("", "Dest"):
            ch = self._channels.get(event.get(prefix + "Uniqueid", ""))
            if ch is not None:
                self._set_variables(ch.call, channel_variables(event, prefix))

    def _set_variables(self, call: Call, pairs: list[tuple[str, str]]) -> None:
        for name, value in pairs:
            if value and call.variables.get(name) != value:
                call.variables[name] = value
                self._touched.append(call)

    # --- resync -------------------------------------------------------------------------------
    def _rebuild(self, linkedid: str, snaps: list[Mapping[str, str]], now: float) -> Call:
        call = next((self._channels[s["Uniqueid"]].call for s in snaps
                     if s["Uniqueid"] in self._channels), None) or self._by_linkedid.get(linkedid)
        if call is None:
            call = Call(linkedid, now - max(_duration(s) for s in snaps), self._seq_base)
            self._calls[linkedid] = call
            root = next((s for s in snaps if s["Uniqueid"] == linkedid), None)
            if root is not None:
                call.root_is_agent = self._agents.endpoint_of(root["Channel"]) is not None
                call.caller_number = _caller_of(root, snaps)
        call.linkedids.add(linkedid)
        self._by_linkedid[linkedid] = call
        present = {s["Uniqueid"] for s in snaps}
        for ch in [ch for ch in call.channels.values() if ch.uid not in present]:
            finish(ch)
            del call.channels[ch.uid]
            self._channels.pop(ch.uid, None)
        for snap in snaps:
            ch = self._channels.get(snap["Uniqueid"])
            if ch is None:
                ch = Channel(snap["Uniqueid"], snap["Channel"],
                             self._agents.endpoint_of(snap["Channel"]), call)
                call.channels[ch.uid] = ch
                self._channels[ch.uid] = ch
            elif ch.call is not call:
                del ch.call.channels[ch.uid]
                ch.call = call
                call.channels[ch.uid] = ch
            if snap.get("Application") == "Queue" and not call.queue:
                call.queue = (snap.get("ApplicationData") or "").split(",", 1)[0] or None
            exten = snap.get("Exten")
            if not ch.endpoint and call.dialled is None and not is_withheld(exten):
                call.dialled = exten  # the number the customer leg runs or was dialled as
            self._set_variables(call, channel_variables(snap))
        if call.dialled is None and call.root_is_agent:
            # no customer leg up yet, or one with no digits: the agent's phone dialled them
            root = next((s for s in snaps if s["Uniqueid"] == call.id), None)
            if root is not None and not is_withheld(root.get("Exten")):
                call.dialled = root.get("Exten")
        for snap in snaps:
            ch = self._channels[snap["Uniqueid"]]
            if snap.get("ChannelState") == "6":
                answer(ch)
            else:
                ring(ch)
        agents = [ch for ch in call.channels.values() if ch.endpoint]
        call.deferred = False
        call.internal = call.last is None and len(agents) > 1 and len(agents) == len(call.channels)
        if call.direction is None and call.last is None:
            dialer = CAMPAIGN_VARIABLE in call.variables
            call.direction = "outbound" if call.root_is_agent or dialer else "inbound"
        return call

    # --- publishing ---------------------------------------------------------------------------
    def _flush(self) -> list[CallUpdate]:
        if not self._touched:
            return []
        updates = []
        seen: list[Call] = []
        for call in self._touched:
            if any(call is other for other in seen):
                continue
            seen.append(call)
            update = self._publish(call)
            if update is not None:
                updates.append(update)
        self._touched.clear()
        return updates

    def _publish(self, call: Call) -> CallUpdate | None:
        if call.deferred or call.internal:
            return None
        agents = call.agents()
        if not agents:
            return None
        if call.direction is None:
            outbound = call.root_is_agent or (
                call.root_originated and call.agent_caller == call.id)
            call.direction = "outbound" if outbound else "inbound"
        ended = not call.channels
        state = "ended" if ended else "answered" if call.answered else "ringing"
        customer = call.customer_number()
        picture = (state, customer, tuple(sorted(agents.items())), call.queue,
                   tuple(sorted(call.variables.items())))
        if picture == call.picture or (ended and call.last is None):
            return None
        call.picture = picture
        call.seq += 1
        call.last = CallUpdate(
            call_id=call.id, direction=call.direction, state=state,  # type: ignore[arg-type]
            customer_number=customer, agents=agents, queue=call.queue,  # type: ignore[arg-type]
            started_at=call.started_at, event_at=self._clock(), variables=dict(call.variables),
            seq=call.seq)
        return call.last


def ended_while_away(last: CallUpdate, now: float) -> CallUpdate:
    """The end of a call Asterisk no longer has, from the last update published for it (by this
    process or one before it): each agent leg ends as it would have at a hang-up, and the update
    outnumbers the last one."""
    answered = any(leg == "answered" for leg in last.agents.values())
    agents = {endpoint: ("ended" if leg == "answered" else
                         ("answered_elsewhere" if answered else "missed") if leg == "ringing"
                         else leg)
              for endpoint, leg in last.agents.items()}
    return replace(last, state="ended", agents=agents, event_at=now, seq=last.seq + 1)


def _caller_of(root: Mapping[str, str], snaps: Sequence[Mapping[str, str]]) -> str | None:
    """The inbound customer's number in a CoreShowChannels answer. A Local `;1` root (a caller
    Asterisk originated as a Local pair) takes on the agent's number as its caller ID once the
    agent's phone rings (real Asterisk 20: `6001`); its `;2` half, which dialled on the caller's
    behalf, keeps the caller's own."""
    name = root["Channel"]
    if name.startswith("Local/") and name.endswith(";1"):
        half = name[:-1] + "2"
        partner = next((s for s in snaps if s.get("Channel") == half), None)
        if partner is not None:
            return partner.get("CallerIDNum")
    return root.get("CallerIDNum")


def _duration(snap: Mapping[str, str]) -> float:
    try:
        hours, minutes, seconds = (int(part) for part in snap.get("Duration", "").split(":"))
    except ValueError:
        return 0.0
    return hours * 3600.0 + minutes * 60 + seconds
