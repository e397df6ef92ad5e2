"""Recorded AMI traces turned into pre-compiled call templates (pure: no I/O beyond reading bytes
handed in).

A template is the list of events one recorded call produced, each pre-split into a bytes format
string whose `%s` holes are the values that change from call to call: the event's Timestamp,
every Uniqueid/Linkedid, every channel-name suffix, every bridge id and the scenario's parameter
literals (customer number, caller name, agent endpoints, queue...). Playing a call is then one
`bytes % tuple` per event, which is what keeps rendering cheap.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from operator import itemgetter

from telephony.ami.frames import TERMINATOR, FrameReader, parse_block

# Events on the recorder's own AMI session, not part of any call.
_SESSION_EVENTS = frozenset({"FullyBooted"})
_UNIQUEID_RE = re.compile(r"^\d+\.\d+$")
_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_CHANNEL_SUFFIX_RE = re.compile(
    r"(?:PJSIP|SIP|IAX2|DAHDI|Local)/[^\s;,]*?(-[0-9a-f]{8})(?![0-9a-f])")
_TIMESTAMP_RE = re.compile(r"^Timestamp: [^\r\n]*", re.MULTILINE)

# Events whose snapshot feeds the live-channel table.
TABLE_EVENTS = frozenset({"Newchannel", "Newstate", "Newexten", "NewCallerid", "NewConnectedLine",
                          "BridgeEnter", "BridgeLeave", "Hangup", "Rename", "OriginateResponse"})

SLOT_TIMESTAMP = 0


@dataclass(frozen=True)
class RawEvent:
    """One recorded block: its bytes (no terminator), parsed headers, and recorded time.
    A silent event is not sent to clients but still changes the live-channel table."""
    block: bytes
    headers: dict[str, str]
    time: float | None
    silent: bool = False


def read_trace(data: bytes) -> list[RawEvent]:
    """Every block of a recorded stream, in order (banner/session marker lines are ignored)."""
    reader = FrameReader(max_bytes=len(data) + 1)
    events = []
    for block in reader.feed(data):
        lines = [ln for ln in block.split(b"\r\n")
                 if ln and not ln.startswith(b"#####") and not ln.startswith(b"Asterisk Call Manager/")]
        if not lines:
            continue
        block = b"\r\n".join(lines)
        headers, _ = parse_block(block)
        stamp = headers.get("Timestamp")
        events.append(RawEvent(block, headers, float(stamp) if stamp else None))
    return events


def call_events(events: Iterable[RawEvent], *, keep_originate_response: bool) -> list[RawEvent]:
    """What a call contributed to the stream: drop responses, events answering the recorder's own
    actions (they carry its ActionID), and the recorder's login events. Noise stays."""
    kept = []
    for ev in events:
        h = ev.headers
        name = h.get("Event")
        if name is None or name in _SESSION_EVENTS or ev.time is None:
            continue
        if name == "OriginateResponse" and "ActionID" in h and not keep_originate_response:
            # the recorder placed the simulated caller: nobody else saw this answer, but the
            # caller's channel now runs the Originate's application
            kept.append(replace(ev, silent=True))
            continue
        if "ActionID" in h and not (keep_originate_response and name == "OriginateResponse"):
            continue
        if h.get("Service") == "AMI":
            continue
        kept.append(ev)
    return kept


def split_calls(events: Sequence[RawEvent]) -> list[list[RawEvent]]:
    """Cut a trace holding consecutive calls at each call's first channel (a Newchannel whose
    Uniqueid is its own Linkedid, after the previous call's channels have all hung up)."""
    parts: list[list[RawEvent]] = [[]]
    live: set[str] = set()
    started = False
    for ev in events:
        h = ev.headers
        name = h.get("Event")
        if name == "Newchannel" and h.get("Uniqueid") == h.get("Linkedid") and not live:
            if started:
                parts.append([])
            started = True
        parts[-1].append(ev)
        if name == "Newchannel":
            live.add(h["Uniqueid"])
        elif name == "Hangup":
            live.discard(h.get("Uniqueid", ""))
    return parts


@dataclass(frozen=True)
class CompiledEvent:
    name: str
    fmt: bytes            # block + terminator with %s holes
    getter: itemgetter    # picks this event's hole values from the call's value list
    classes: frozenset[str]
    offset: float         # seconds after the call's first event
    table: bool           # feeds the live-channel table
    sent: bool = True     # False: only the table sees it (RawEvent.silent)


@dataclass
class Template:
    """A compiled call. Value list layout: [timestamp, *uniqueids, *suffixes, *bridges,
    *param literals]; `slots` names each index after the timestamp."""
    events: list[CompiledEvent]
    uniqueids: list[str]          # recorded ids, in order of first appearance
    suffixes: list[str]           # recorded "-0000001f" tokens
    bridges: list[str]            # recorded bridge uuids
    literals: list[str]           # parameter literals, index-aligned with `literal_params`
    literal_params: list[str]     # which parameter each literal belongs to
    hold_index: int | None        # index of the event after which the agent has answered
    first_channel_uniqueid: str


def _literal_pattern(uniqueids: Sequence[str], suffixes: Sequence[str], bridges: Sequence[str],
                     literals: Sequence[str]) -> re.Pattern[str] | None:
    def alt(items: Iterable[str]) -> str:
        return "|".join(re.escape(s) for s in sorted(set(items), key=len, reverse=True))

    groups = []
    if uniqueids:
        groups.append(rf"(?<![\d.])(?:{alt(uniqueids)})(?!\d)")
    if suffixes:
        groups.append(rf"(?:{alt(suffixes)})(?![0-9a-f])")
    if bridges:
        groups.append(rf"(?:{alt(bridges)})")
    nonempty = [s for s in literals if s]
    if nonempty:
        groups.append(rf"(?<![0-9A-Za-z])(?:{alt(nonempty)})(?![0-9A-Za-z])")
    return re.compile("|".join(groups)) if groups else None


def compile_template(events: Sequence[RawEvent], params: Mapping[str, Sequence[str]],
                     *, agent_names: Iterable[str] = (),
                     first_uniqueid: str | None = None) -> Template:
    """Build a template. `params` maps a parameter name to the recorded literal strings that
    stand for it (e.g. {"customer": ["5215512345678"], "agent0_endpoint": ["SIP/6001"]}).
    `first_uniqueid` names the call's own id when it is not the first Newchannel's (an Originate
    that failed before any channel existed: only its OriginateResponse carries the id)."""
    if not events:
        raise ValueError("a template needs at least one event")
    uniqueids: list[str] = []
    suffixes: list[str] = []
    bridges: list[str] = []
    first_channel = first_uniqueid
    for ev in events:
        for key, value in ev.headers.items():
            low = key.lower()
            if (low.endswith("uniqueid") or low.endswith("linkedid")) and value not in uniqueids:
                if _UNIQUEID_RE.match(value):
                    uniqueids.append(value)
                elif _UUID_RE.match(value) and value not in bridges:
                    bridges.append(value)
            for m in _CHANNEL_SUFFIX_RE.finditer(value):
                if m.group(1) not in suffixes:
                    suffixes.append(m.group(1))
        if first_channel is None and ev.headers.get("Event") == "Newchannel":
            first_channel = ev.headers["Uniqueid"]
    if first_channel is None:
        raise ValueError("a template needs a Newchannel event")

    literals: list[str] = []
    literal_params: list[str] = []
    for name, values in params.items():
        for value in values:
            literals.append(value)
            literal_params.append(name)
    slot_of: dict[str, int] = {}
    for i, v in enumerate(uniqueids):
        slot_of[v] = 1 + i
    base = 1 + len(uniqueids)
    for i, v in enumerate(suffixes):
        slot_of[v] = base + i
    base += len(suffixes)
    for i, v in enumerate(bridges):
        slot_of[v] = base + i
    base += len(bridges)
    for i, v in enumerate(literals):
        slot_of.setdefault(v, base + i)
    pattern = _literal_pattern(uniqueids, suffixes, bridges, literals)

    t0 = events[0].time or 0.0
    compiled = []
    hold_index = None
    agent_names = tuple(agent_names)
    bridge_members: dict[str, list[str]] = {}
    for index, ev in enumerate(events):
        text = ev.block.replace(b"%", b"%%").decode("utf-8", errors="surrogateescape")
        holes: list[int] = []
        if ev.time is not None:
            text = _TIMESTAMP_RE.sub("Timestamp: \x00", text)

        def hole(m: re.Match[str]) -> str:
            return "\x01" + str(slot_of[m.group(0)]) + "\x02"

        if pattern is not None:
            text = pattern.sub(hole, text)
        pieces = re.split("(\x00|\x01\\d+\x02)", text)
        out = []
        for piece in pieces:
            if piece == "\x00":
                holes.append(SLOT_TIMESTAMP)
                out.append("%s")
            elif piece.startswith("\x01"):
                holes.append(int(piece[1:-1]))
                out.append("%s")
            else:
                out.append(piece)
        fmt = "".join(out).encode("utf-8", "surrogateescape") + TERMINATOR
        privilege = ev.headers.get("Privilege", "")
        classes = frozenset(c for c in privilege.split(",") if c and c != "all")
        name = ev.headers.get("Event", "")
        getter = itemgetter(*holes) if holes else itemgetter(slice(0, 0))
        compiled.append(CompiledEvent(name, fmt, getter, classes,
                                      (ev.time or t0) - t0, name in TABLE_EVENTS, not ev.silent))
        if name == "BridgeEnter" and hold_index is None:
            members = bridge_members.setdefault(ev.headers.get("BridgeUniqueid", ""), [])
            members.append(ev.headers.get("Channel", ""))
            if len(members) >= 2 and any(ch.startswith(a) for ch in members for a in agent_names):
                hold_index = index
    return Template(compiled, uniqueids, suffixes, bridges, literals, literal_params, hold_index,
                    first_channel)


def render(event: CompiledEvent, values: list[bytes]) -> bytes:
    """One event's bytes for a call whose hole values are `values` (values[0] = timestamp)."""
    picked = event.getter(values)
    if isinstance(picked, bytes):
        return event.fmt % (picked,)
    return event.fmt % tuple(picked)
