"""The simulator's live-channel table, kept by applying the events it emits (pure).

It answers CoreShowChannels the way Asterisk 20 does (field set, order and values as in the recorded
`coreshowchannels-live-inbound.txt` and `reconnect.txt`: each channel's latest snapshot, with its
`ChanVariable`s when `channelvars` is set), and tells which channels a call still has up.
"""
from __future__ import annotations

from dataclasses import dataclass

from telephony.ami.frames import values_of

SNAPSHOT_FIELDS = ("Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName",
                   "ConnectedLineNum", "ConnectedLineName", "Language", "AccountCode", "Context",
                   "Exten", "Priority", "Uniqueid", "Linkedid")
VARIABLES_FIELD = "ChanVariable"  # repeated, joined as frames.REPEAT_SEPARATOR keeps them


def snapshot_pairs(snapshot: dict[str, str]) -> list[tuple[str, str]]:
    """A channel snapshot as Asterisk prints it: the fixed fields, then one header per variable."""
    pairs = [(key, snapshot[key]) for key in SNAPSHOT_FIELDS]
    pairs += [(VARIABLES_FIELD, item) for item in values_of(snapshot, VARIABLES_FIELD)]
    return pairs


@dataclass
class LiveChannel:
    snapshot: dict[str, str]
    created: float
    owner: str                       # call_id of the simulated call that created it
    application: str = ""
    application_data: str = ""
    bridge_id: str = ""


def format_duration(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


class ChannelTable:
    def __init__(self) -> None:
        self._by_uniqueid: dict[str, LiveChannel] = {}

    def apply(self, headers: dict[str, str], *, now: float, owner: str) -> None:
        name = headers.get("Event")
        uniqueid = headers.get("Uniqueid")
        if not uniqueid:
            return
        if name == "Newchannel":
            self._by_uniqueid[uniqueid] = LiveChannel(self._snapshot(headers), now, owner)
            return
        channel = self._by_uniqueid.get(uniqueid)
        if channel is None:
            return
        if name == "Hangup":
            del self._by_uniqueid[uniqueid]
            return
        if name == "OriginateResponse":
            # an originated channel with an Application (a simulated caller's `;1`) runs it
            # from here on: CoreShowChannels shows `Wait 120`, no longer the dial's `AppDial2`
            if headers.get("Response") == "Success" and headers.get("Application"):
                channel.application = headers["Application"]
                channel.application_data = headers.get("Data", "")
            return
        channel.snapshot = self._snapshot(headers)
        if name == "Newexten":
            channel.application = headers.get("Application", "")
            channel.application_data = headers.get("AppData", "")
        elif name == "BridgeEnter":
            channel.bridge_id = headers.get("BridgeUniqueid", "")
        elif name == "BridgeLeave":
            channel.bridge_id = ""

    @staticmethod
    def _snapshot(headers: dict[str, str]) -> dict[str, str]:
        snapshot = {key: headers.get(key, "") for key in SNAPSHOT_FIELDS}
        if VARIABLES_FIELD in headers:
            snapshot[VARIABLES_FIELD] = headers[VARIABLES_FIELD]
        return snapshot

    def remove(self, uniqueid: str) -> None:
        self._by_uniqueid.pop(uniqueid, None)

    def channels(self) -> list[LiveChannel]:
        return list(self._by_uniqueid.values())

    def owned_by(self, call_id: str) -> list[LiveChannel]:
        return [c for c in self._by_uniqueid.values() if c.owner == call_id]

    def owner_of_channel(self, channel_name: str) -> str | None:
        for c in self._by_uniqueid.values():
            if c.snapshot["Channel"] == channel_name:
                return c.owner
        return None

    def core_show_channel(self, channel: LiveChannel, *, now: float,
                          action_id: str | None) -> list[tuple[str, str]]:
        """One `CoreShowChannel` list item as (key, value) pairs, in Asterisk's order."""
        pairs = [("Event", "CoreShowChannel")]
        if action_id is not None:
            pairs.append(("ActionID", action_id))
        pairs += snapshot_pairs(channel.snapshot)
        pairs += [("Application", channel.application),
                  ("ApplicationData", channel.application_data),
                  ("Duration", format_duration(now - channel.created)),
                  ("BridgeId", channel.bridge_id)]
        return pairs
