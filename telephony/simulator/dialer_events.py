"""The few dialer events the simulator builds itself rather than plays from a recording (pure):
what Asterisk sends when a queued customer gives up, and when an originated channel is hung up
before it answered."""
from __future__ import annotations

from collections.abc import Sequence

from telephony.ami.frames import encode
from telephony.simulator.originate import OriginateRequest

Pairs = Sequence[tuple[str, str]]
CALL = frozenset({"call"})
AGENT = frozenset({"agent"})


def abandon_events(snapshot: Pairs, queue: str, held: float, stamp: str
                   ) -> list[tuple[bytes, frozenset[str]]]:
    """What app_queue reports when a waiting caller hangs up, each with its event class: the
    hang-up request, music on hold stopping, QueueCallerAbandon and QueueCallerLeave (field sets
    as in ami-and-panoramisk.md and the recorded QueueCallerLeave), the Hangup, the queue device
    idle. `snapshot`: the caller's channel fields (with its ChanVariable lines)."""
    def event(name: str, privilege: str, *extra: tuple[str, str]) -> bytes:
        return encode([("Event", name), ("Privilege", privilege), ("Timestamp", stamp),
                       *snapshot, *extra])

    return [
        (event("HangupRequest", "call,all", ("Cause", "16")), CALL),
        (event("MusicOnHoldStop", "call,all"), CALL),
        (event("QueueCallerAbandon", "agent,all", ("Queue", queue), ("Position", "1"),
               ("OriginalPosition", "1"), ("HoldTime", str(int(held)))), AGENT),
        (event("QueueCallerLeave", "agent,all", ("Queue", queue), ("Position", "1"),
               ("Count", "0")), AGENT),
        (event("Hangup", "call,all", ("Cause", "16"), ("Cause-txt", "Normal Clearing")), CALL),
        (encode([("Event", "DeviceStateChange"), ("Privilege", "call,all"), ("Timestamp", stamp),
                 ("Device", f"Queue:{queue}"), ("State", "NOT_INUSE")]), CALL),
    ]


def unanswered_response(request: OriginateRequest, action_id: str, uniqueid: str,
                        stamp: str) -> bytes:
    """OriginateResponse of an Originate whose channel was hung up before it answered: the
    requested channel string and Reason 1 (hung up), as manager.c reports a failed Originate."""
    return encode([("Event", "OriginateResponse"), ("Privilege", "call,all"),
                   ("Timestamp", stamp), ("ActionID", action_id), ("Response", "Failure"),
                   ("Channel", request.channel), ("Context", request.context),
                   ("Exten", request.exten), ("Reason", "1"), ("Uniqueid", uniqueid),
                   ("CallerIDNum", request.caller_number or "<unknown>"),
                   ("CallerIDName", request.caller_name or "<unknown>")])
