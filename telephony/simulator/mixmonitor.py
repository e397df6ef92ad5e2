"""Recordings for the simulated calls, named and placed as asterisk-config's MixMonitor names
them: `<recordings>/YYYY/MM/DD/<linkedid>.wav`, the date the call's first channel appeared in
the PBX's time zone, the sound only while the call is bridged (MixMonitor's `b` option).

It reads what the simulator sends its AMI clients, as a listener would: a call starts with the
Newchannel of its first channel (Uniqueid = Linkedid), its recording with the first BridgeEnter,
and the file is written when that first channel hangs up. As the dialplan records the
customer's leg only, a call of agents alone (an attended transfer's consultation) is not
recorded. Asterisk writes the file as the call goes; here it appears at the end, all at once.
The sound is a soft pair of alternating tones, two voices taking turns, so a player has
something to play and seek through.
"""
from __future__ import annotations

import logging
import math
import wave
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from telephony.ami.frames import parse_block
from telephony.channels import EndpointMatcher
from telephony.config import DEFAULT_AGENT_PATTERNS
from telephony.records import recording_file

log = logging.getLogger(__name__)

RATE = 8000  # Hz, 8-bit mono: a telephone recording
TURN_SECONDS = 1.5
MAX_SECONDS = 3600.0
_WATCHED = (b"Event: Newchannel\r\n", b"Event: BridgeEnter\r\n", b"Event: Hangup\r\n")


class MixMonitor:
    def __init__(self, root: Path, tz: ZoneInfo, agents: EndpointMatcher | None = None) -> None:
        """`agents`: which channels are agents' (telephony's default AGENT_ENDPOINT_PATTERNS)."""
        self._root = root
        self._tz = tz
        self._agents = agents or EndpointMatcher(DEFAULT_AGENT_PATTERNS)
        self._with_customer: set[str] = set()  # linkedids with a channel that is no agent's
        self._started: dict[str, float] = {}  # linkedid → when its first channel appeared
        self._bridged: dict[str, float] = {}  # linkedid → its first BridgeEnter
        self.written: list[Path] = []

    def feed(self, data: bytes) -> None:
        """What the simulator just sent (any number of whole AMI messages)."""
        for block in data.split(b"\r\n\r\n"):
            if block.startswith(_WATCHED):
                self._event(parse_block(block)[0])

    def _event(self, event: Mapping[str, str]) -> None:
        name, uid, linkedid = event.get("Event"), event.get("Uniqueid"), event.get("Linkedid")
        try:
            at = float(event.get("Timestamp", ""))
        except ValueError:
            return
        if not linkedid:
            return
        if name == "Newchannel":
            if uid == linkedid:
                self._started.setdefault(linkedid, at)
            if self._agents.endpoint_of(event.get("Channel", "")) is None:
                self._with_customer.add(linkedid)
        elif name == "BridgeEnter":
            self._bridged.setdefault(linkedid, at)
        elif name == "Hangup" and uid == linkedid:
            started = self._started.pop(linkedid, at)
            bridged = self._bridged.pop(linkedid, None)
            if linkedid in self._with_customer and bridged is not None:
                self._write(linkedid, started, min(max(at - bridged, 1.0), MAX_SECONDS))
            self._with_customer.discard(linkedid)

    def _write(self, linkedid: str, started: float, seconds: float) -> None:
        path = self._root / recording_file(linkedid, started, self._tz)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with wave.open(str(path), "wb") as out:
                out.setnchannels(1)
                out.setsampwidth(1)
                out.setframerate(RATE)
                turns, rest = divmod(int(seconds * RATE), int(TURN_SECONDS * RATE))
                for turn in range(turns):
                    out.writeframes(_turn(turn % 2))
                out.writeframes(_turn(turns % 2)[:rest])
        except OSError as exc:
            log.warning("recording %s not written: %s", path, exc)
            return
        self.written.append(path)


@cache
def _turn(voice: int) -> bytes:
    """One speaker's turn: a soft tone (220 or 330 Hz) fading in and out, then a short pause."""
    frequency, frames = (220.0, 330.0)[voice], int(TURN_SECONDS * RATE)
    spoken = int(frames * 0.8)
    samples = bytearray(b"\x80" * frames)  # 8-bit WAV is unsigned: 128 is silence
    for i in range(spoken):
        envelope = math.sin(math.pi * i / spoken)
        samples[i] = 128 + round(40 * envelope * math.sin(2 * math.pi * frequency * i / RATE))
    return bytes(samples)
