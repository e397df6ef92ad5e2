"""Derive the synthetic traces in this folder from the real Asterisk 20 SIP recordings one level up.

Run `python -m telephony.simulator.traces.synthetic.derive` (or this file) to rewrite them. Every
block starts from a real block (same fields, same order); new events are built from the real
channel snapshots with the field sets of Asterisk 20 (see ami-and-panoramisk.md §2–3).
"""
from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
REAL = HERE.parent
Block = list[tuple[str, str]]
SNAPSHOT = ("Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName",
            "ConnectedLineNum", "ConnectedLineName", "Language", "AccountCode", "Context", "Exten",
            "Priority", "Uniqueid", "Linkedid")
BRIDGE = ("BridgeUniqueid", "BridgeType", "BridgeTechnology", "BridgeCreator", "BridgeName",
          "BridgeNumChannels", "BridgeVideoSourceMode")
STATES = {"0": "Down", "4": "Ring", "5": "Ringing", "6": "Up"}


def load(name: str) -> tuple[bytes, list[Block]]:
    data = (REAL / name).read_bytes()
    banner, _, rest = data.partition(b"\r\n")
    blocks = []
    for raw in rest.decode("utf-8").split("\r\n\r\n"):
        if raw:
            blocks.append([tuple(line.split(": ", 1)) if ": " in line else (line[:-1], "")
                           for line in raw.split("\r\n")])
    return banner + b"\r\n", blocks


def dump(name: str, banner: bytes, blocks: list[Block]) -> None:
    text = "".join("".join(f"{k}: {v}\r\n" for k, v in b) + "\r\n" for b in blocks)
    (HERE / name).write_bytes(banner + text.encode("utf-8"))


def get(block: Block, key: str) -> str | None:
    return next((v for k, v in block if k == key), None)


def put(block: Block, **values: str) -> Block:
    values = {k.replace("_", "-"): v for k, v in values.items()}
    return [(k, values.get(k, v)) for k, v in block]


def edit_values(blocks: list[Block], fn) -> list[Block]:
    return [[(k, fn(k, v)) for k, v in b] for b in blocks]


def swap_agents(blocks: list[Block]) -> list[Block]:
    swap = re.compile(r"(?<![\d.])600([12])(?!\d)")
    return edit_values(blocks, lambda k, v: v if k == "Timestamp" else swap.sub(
        lambda m: "6002" if m.group(1) == "1" else "6001", v))


def shift(blocks: list[Block], seconds: float) -> list[Block]:
    return edit_values(blocks, lambda k, v: f"{float(v) + seconds:.6f}" if k == "Timestamp" else v)


def rename(blocks: list[Block], mapping: dict[str, str]) -> list[Block]:
    """Replace channel names, ids and other literal strings in every value."""
    pattern = re.compile("|".join(re.escape(s) for s in sorted(mapping, key=len, reverse=True)))
    return edit_values(blocks, lambda k, v: v if k == "Timestamp" else pattern.sub(
        lambda m: mapping[m.group(0)], v))


def drop(blocks: list[Block], indexes: set[int]) -> list[Block]:
    return [b for i, b in enumerate(blocks) if i not in indexes]


def ts(block: Block) -> float:
    return float(get(block, "Timestamp") or 0)


def snapshot(blocks: list[Block], channel: str, prefix: str = "", **changes: str) -> Block:
    """The latest snapshot of `channel` seen in `blocks`, optionally changed, keys prefixed."""
    for block in reversed(blocks):
        for p in ("", "Dest"):
            if get(block, p + "Channel") == channel:
                snap = {k: get(block, p + k) or "" for k in SNAPSHOT}
                snap.update(changes)
                if "ChannelState" in changes:
                    snap["ChannelStateDesc"] = STATES[changes["ChannelState"]]
                return [(prefix + k, snap[k]) for k in SNAPSHOT]
    raise KeyError(channel)


def bridge(uid: str, count: int, prefix: str = "") -> Block:
    values = (uid, "basic", "simple_bridge", "<unknown>", "<unknown>", str(count), "none")
    return [(prefix + k, v) for k, v in zip(BRIDGE, values)]


def event(name: str, at: float, *parts: Block, privilege: str = "call,all") -> Block:
    block = [("Event", name), ("Privilege", privilege), ("Timestamp", f"{at:.6f}")]
    for part in parts:
        block += part
    return block


class Builder:
    """Appends events built from the latest snapshots in the stream so far."""

    def __init__(self, blocks: list[Block]) -> None:
        self.blocks = blocks
        self.at = ts(next(b for b in reversed(blocks) if get(b, "Timestamp")))

    def tick(self, seconds: float = 0.000011) -> float:
        self.at += seconds
        return self.at

    def snap(self, channel: str, prefix: str = "", **changes: str) -> Block:
        return snapshot(self.blocks, channel, prefix, **changes)

    def add(self, name: str, *parts: Block, privilege: str = "call,all", wait: float = 0.000011) -> None:
        self.blocks.append(event(name, self.tick(wait), *parts, privilege=privilege))

    def channel_event(self, name: str, channel: str, extra: Block = (), wait: float = 0.000011,
                      privilege: str = "call,all", **changes: str) -> None:
        self.add(name, self.snap(channel, **changes), list(extra), privilege=privilege, wait=wait)

    def new_channel(self, name: str, uniqueid: str, linkedid: str, number: str, caller_name: str,
                    context: str, exten: str, state: str = "0", wait: float = 0.000011) -> None:
        snap = [("Channel", name), ("ChannelState", state), ("ChannelStateDesc", STATES[state]),
                ("CallerIDNum", number), ("CallerIDName", caller_name),
                ("ConnectedLineNum", "<unknown>"), ("ConnectedLineName", "<unknown>"),
                ("Language", "es"), ("AccountCode", ""), ("Context", context), ("Exten", exten),
                ("Priority", "1"), ("Uniqueid", uniqueid), ("Linkedid", linkedid)]
        self.add("Newchannel", snap, wait=wait)

    def dial(self, name: str, caller: str | None, dest: str, extra: Block, wait: float = 0.000011,
             **dest_changes: str) -> None:
        parts = [self.snap(caller)] if caller else []
        self.add(name, *parts, self.snap(dest, "Dest", **dest_changes), extra, wait=wait)

    def device(self, device: str, state: str) -> None:
        self.add("DeviceStateChange", [("Device", device), ("State", state)])

    def hangup(self, channel: str, cause: str, text: str, wait: float = 0.000011) -> None:
        self.channel_event("Hangup", channel, [("Cause", cause), ("Cause-txt", text)], wait=wait)


# --- the scenarios ---------------------------------------------------------------------------

# Indexes into sip-trunk-inbound-queue.txt (ringall; SIP/6002-00000020 rung first, SIP/6001-00000021
# answers). Listed by `python -c` over the trace; see the README one level up.
RING_6002 = set(range(23, 33)) | {38, 42}  # 6002's Newchannel/AgentCalled/DialBegin/ringing
CANCEL_6002 = {50, 52, 53, 97, 102}  # its DialEnd CANCEL x2, Hangup 26, idle device/member state
PSTN, A1, A2 = "SIP/pstn-gw-0000001f", "SIP/6001-00000021", "SIP/6002-00000020"
ROOT, BRIDGE1 = "1795497164.61", "9530c75d-8955-441d-92f6-f78a3370a1f7"


def strategy(blocks: list[Block], name: str) -> list[Block]:
    return edit_values(blocks, lambda k, v: name if k == "Value" and v == "ringall" else v)


def ringall_other_answers() -> None:
    banner, blocks = load("sip-trunk-inbound-queue.txt")
    dump("queue-ringall-other-answers.txt", banner, swap_agents(blocks))


def linear_noanswer_then_next() -> None:
    banner, blocks = load("sip-trunk-inbound-queue.txt")
    blocks = strategy(swap_agents(blocks), "linear")
    # after the swap: SIP/6001-00000020 rings first and never answers, SIP/6002-00000021 answers
    first = blocks[:33] + [blocks[38], blocks[42]]
    b = Builder(first)
    missed = "SIP/6001-00000020"
    b.add("AgentRingNoAnswer", b.snap(PSTN), b.snap(missed, "Dest", ChannelState="5"),
          [("Queue", "ventas"), ("Interface", "SIP/6001"), ("MemberName", "Agente 6001"),
           ("RingTime", "15")], privilege="agent,all", wait=15.0)
    b.dial("DialEnd", PSTN, missed, [("DialStatus", "NOANSWER")], ChannelState="5")
    b.hangup(missed, "0", "Unknown")
    b.device("SIP/6001", "NOT_INUSE")
    b.blocks.append(put(blocks[102], Timestamp=f"{b.tick():.6f}"))
    retry = b.at + 5.0 - ts(blocks[33])
    second = [blocks[i] for i in (*range(33, 38), 39, 40, 41, *range(43, 48))]
    rest = drop(blocks[48:], {i - 48 for i in CANCEL_6002})
    dump("queue-linear-noanswer-then-next.txt", banner, b.blocks + shift(second + rest, retry))


def single_ring_call() -> tuple[bytes, list[Block]]:
    """sip-trunk-inbound-queue with 6002 never rung: 6001 rings alone and answers."""
    banner, blocks = load("sip-trunk-inbound-queue.txt")
    return banner, drop(blocks, RING_6002 | CANCEL_6002)


def rrmemory() -> None:
    banner, blocks = single_ring_call()
    blocks = strategy(blocks, "rrmemory")
    call1 = blocks[:-1]  # without the Goodbye
    body = [b for b in call1[3:] if get(b, "Event") != "SuccessfulAuth"]
    call2 = rename(swap_agents(body), {
        PSTN: "SIP/pstn-gw-00000022", "SIP/6002-00000021": "SIP/6002-00000023",
        ROOT: "1795497184.64", "1795497164.63": "1795497184.65",
        BRIDGE1: "51c0e1a2-7d3b-4c8e-9a41-0b6f2d9e3c17",
        "42a1105c7a80a267": "5f0c2b9d1e3a4c67", "671fd4af4032e76d794feea074a95946": "0b8e5d1c"
        "9a2f4e67b3c15d80a9e2f471"})
    dump("queue-rrmemory.txt", banner, call1 + shift(call2, 20.0) + [blocks[-1]])


def up_to_bridge() -> tuple[bytes, list[Block], Block]:
    banner, blocks = single_ring_call()
    end = next(i for i, b in enumerate(blocks) if get(b, "Event") == "RTCPReceived")
    agent_complete = next(b for b in blocks if get(b, "Event") == "AgentComplete")
    return banner, blocks[:end], agent_complete


def blind_transfer() -> None:
    banner, blocks, agent_complete = up_to_bridge()
    b = Builder(blocks)
    target, new_bridge = "SIP/6002-00000022", "7c2d4f1e-3b5a-4e9c-8d17-a0b3c6e5f294"
    b.add("BlindTransfer", [("Result", "Success")], b.snap(A1, "Transferer"),
          b.snap(PSTN, "Transferee"), bridge(BRIDGE1, 2),
          [("IsExternal", "Yes"), ("Context", "agents-sip"), ("Extension", "6002")], wait=6.0)
    b.add("BridgeLeave", bridge(BRIDGE1, 1), b.snap(A1))
    b.add("BridgeLeave", bridge(BRIDGE1, 0), b.snap(PSTN))
    b.add("BridgeDestroy", bridge(BRIDGE1, 0))
    b.blocks.append(put(agent_complete, Timestamp=f"{b.tick():.6f}", TalkTime="6",
                        Reason="transfer"))
    b.hangup(A1, "16", "Normal Clearing")
    b.device("SIP/6001", "NOT_INUSE")
    b.channel_event("Newexten", PSTN, [("Extension", "6002"), ("Application", "Dial"),
                    ("AppData", "SIP/6002,30")], privilege="dialplan,all", Context="agents-sip",
                    Exten="6002", Priority="1")
    b.new_channel(target, "1795497172.64", ROOT, "6002", "Agente 6002", "agents-sip", "s")
    b.dial("DialBegin", PSTN, target, [("DialString", "6002")], ConnectedLineNum="5215512345678",
           ConnectedLineName="Juan Perez", Exten="6002")
    b.channel_event("Newstate", target, ChannelState="5")
    b.dial("DialState", PSTN, target, [("DialStatus", "RINGING")])
    b.device("SIP/6002", "RINGING")
    b.channel_event("Newstate", target, ChannelState="6", wait=1.5)
    b.dial("DialEnd", PSTN, target, [("DialStatus", "ANSWER")])
    b.device("SIP/6002", "INUSE")
    b.add("BridgeCreate", bridge(new_bridge, 0))
    b.add("BridgeEnter", bridge(new_bridge, 1), b.snap(target))
    b.add("BridgeEnter", bridge(new_bridge, 2), b.snap(PSTN))
    b.channel_event("HangupRequest", PSTN, [("Cause", "16")], wait=4.0)
    b.add("BridgeLeave", bridge(new_bridge, 1), b.snap(PSTN))
    b.hangup(PSTN, "16", "Normal Clearing")
    b.add("BridgeLeave", bridge(new_bridge, 0), b.snap(target))
    b.add("BridgeDestroy", bridge(new_bridge, 0))
    b.hangup(target, "16", "Normal Clearing")
    b.device("SIP/pstn-gw", "NOT_INUSE")
    b.device("SIP/6002", "NOT_INUSE")
    dump("blind-transfer.txt", banner, b.blocks + [[("Response", "Goodbye"),
         ("ActionID", "blind-transfer-logoff"), ("Message", "Thanks for all the fish.")]])


def attended_transfer() -> None:
    banner, blocks, agent_complete = up_to_bridge()
    b = Builder(blocks)
    consult, target = "SIP/6001-00000022", "SIP/6002-00000023"
    second_id, consult_bridge = "1795497170.64", "e41b9a27-6c0d-4f35-b8a2-5d9c1f7e0364"
    b.channel_event("MusicOnHoldStart", PSTN, [("Class", "default")], wait=3.0)
    b.new_channel(consult, second_id, second_id, "6001", "Agente 6001", "agents-sip", "6002",
                  wait=0.8)
    b.channel_event("Newstate", consult, ChannelState="4")
    b.channel_event("Newexten", consult, [("Extension", "6002"), ("Application", "Dial"),
                    ("AppData", "SIP/6002,30")], privilege="dialplan,all")
    b.new_channel(target, "1795497170.65", second_id, "6002", "Agente 6002", "agents-sip", "s")
    b.dial("DialBegin", consult, target, [("DialString", "6002")], ConnectedLineNum="6001",
           ConnectedLineName="Agente 6001", Exten="6002")
    b.channel_event("Newstate", target, ChannelState="5")
    b.dial("DialState", consult, target, [("DialStatus", "RINGING")])
    b.device("SIP/6002", "RINGING")
    b.channel_event("Newstate", target, ChannelState="6", wait=1.5)
    b.dial("DialEnd", consult, target, [("DialStatus", "ANSWER")])
    b.channel_event("Newstate", consult, ChannelState="6", ConnectedLineNum="6002",
                    ConnectedLineName="Agente 6002")
    b.device("SIP/6002", "INUSE")
    b.add("BridgeCreate", bridge(consult_bridge, 0))
    b.add("BridgeEnter", bridge(consult_bridge, 1), b.snap(target))
    b.add("BridgeEnter", bridge(consult_bridge, 2), b.snap(consult))
    # the agent completes the transfer: 6002 moves into the customer's bridge and takes its Linkedid
    b.add("BridgeLeave", bridge(BRIDGE1, 1), b.snap(A1), wait=5.0)
    b.add("BridgeLeave", bridge(consult_bridge, 1), b.snap(target))
    b.add("BridgeEnter", bridge(BRIDGE1, 2), b.snap(
        target, Linkedid=ROOT, ConnectedLineNum="5215512345678", ConnectedLineName="Juan Perez"))
    b.add("BridgeLeave", bridge(consult_bridge, 0), b.snap(consult))
    b.add("BridgeDestroy", bridge(consult_bridge, 0))
    b.add("AttendedTransfer", [("Result", "Success")], b.snap(A1, "OrigTransferer"),
          bridge(BRIDGE1, 2, "Orig"), b.snap(consult, "SecondTransferer"),
          bridge(consult_bridge, 0, "Second"),
          [("DestType", "Bridge"), ("DestBridgeUniqueid", BRIDGE1)],
          b.snap(PSTN, "Transferee"), b.snap(target, "TransferTarget"))
    b.channel_event("MusicOnHoldStop", PSTN, ConnectedLineNum="6002",
                    ConnectedLineName="Agente 6002")
    b.blocks.append(put(agent_complete, Timestamp=f"{b.tick():.6f}", TalkTime="10",
                        Reason="transfer"))
    b.hangup(consult, "16", "Normal Clearing")
    b.hangup(A1, "16", "Normal Clearing")
    b.device("SIP/6001", "NOT_INUSE")
    b.channel_event("HangupRequest", PSTN, [("Cause", "16")], wait=4.0)
    b.add("BridgeLeave", bridge(BRIDGE1, 1), b.snap(PSTN))
    b.hangup(PSTN, "16", "Normal Clearing")
    b.add("BridgeLeave", bridge(BRIDGE1, 0), b.snap(target))
    b.add("BridgeDestroy", bridge(BRIDGE1, 0))
    b.hangup(target, "16", "Normal Clearing")
    b.device("SIP/pstn-gw", "NOT_INUSE")
    b.device("SIP/6002", "NOT_INUSE")
    dump("attended-transfer.txt", banner, b.blocks + [[("Response", "Goodbye"),
         ("ActionID", "attended-transfer-logoff"), ("Message", "Thanks for all the fish.")]])


def queue_hold() -> None:
    """The single-ring queue call, answered by 6001, who puts the caller on hold twice (4 s and
    3 s): `Hold` on the agent's channel (the phone's re-INVITE), music on the caller's, then
    `Unhold`; the real ending follows, 13 s later."""
    banner, blocks = single_ring_call()
    end = next(i for i, b in enumerate(blocks) if get(b, "Event") == "RTCPReceived")
    b = Builder(blocks[:end])
    started = b.at
    for hold_for in (4.0, 3.0):
        b.channel_event("Hold", A1, [("MusicClass", "default")], wait=2.0)
        b.channel_event("MusicOnHoldStart", PSTN, [("Class", "default")])
        b.channel_event("MusicOnHoldStop", PSTN, wait=hold_for)
        b.channel_event("Unhold", A1)
    held = b.at - started
    tail = [put(block, TalkTime=str(int(get(block, "TalkTime") or 0) + round(held)))
            if get(block, "Event") == "AgentComplete" else block for block in blocks[end:]]
    dump("queue-hold.txt", banner, b.blocks + shift(tail, held))


def pjsip_inbound_direct() -> None:
    banner, blocks = load("sip-inbound-direct.txt")
    blocks = [b for b in blocks if not (get(b, "Event") == "VarSet"
                                        and (get(b, "Variable") or "").startswith("SIP"))]
    blocks = edit_values(blocks, lambda k, v: re.sub(r"(?<![\w/])SIP/6001", "PJSIP/6001", v))
    dump("pjsip-inbound-direct.txt", banner, blocks)


WITHHELD = ("anonymous", "<unknown>", "Restricted", "")


def inbound_anonymous() -> None:
    banner, blocks = load("sip-inbound-direct.txt")
    head, body, tail = blocks[:2], blocks[2:-1], blocks[-1]
    out = list(head)
    for n, number in enumerate(WITHHELD):
        call = [b for b in body if get(b, "Event") != "SuccessfulAuth"] if n else body
        if number == "<unknown>":  # nothing to change: Asterisk sends no NewCallerid
            call = [b for b in call if not (get(b, "Event") == "NewCallerid"
                                            and get(b, "CallerIDNum") == "+525598765432")]
        call = edit_values(call, lambda k, v: v.replace("+525598765432", number))
        call = edit_values(call, lambda k, v, n=n: _renumber(k, v, n))
        out += shift(call, 30.0 * n)
    dump("inbound-anonymous.txt", banner, out + [tail])


def _renumber(key: str, value: str, n: int) -> str:
    if not n or key == "Timestamp":
        return value
    if key.endswith(("Uniqueid", "Linkedid")) and not key.endswith("BridgeUniqueid"):
        m = re.fullmatch(r"(\d+)\.(\d+)", value)
        if m:
            return f"{int(m.group(1)) + 30 * n}.{int(m.group(2)) + 3 * n}"
    if key.endswith("BridgeUniqueid") or key == "BridgeUniqueid":
        return value[:-2] + f"{n:02d}"
    return re.sub(r"-([0-9a-f]{8})(?=;|$|,)",
                  lambda m: f"-{int(m.group(1), 16) + 0x20 * n:08x}", value)


# --- IVR: after hours, and a callback asked for while waiting in the queue --------------------
# ivr-menu.txt: the caller is the Local pair IVR_1 (root, .50) / IVR_2 (.51, runs the dialplan).
IVR_1 = "Local/5550001001@from-pstn-0000000d;1"
IVR_2 = "Local/5550001001@from-pstn-0000000d;2"
IVR_ANSWERED = 22   # blocks up to here: the caller's channels are up, in the IVR
IVR_QUEUED = 38     # blocks up to here: also in the queue, music on hold, before any agent rings
CALLBACK_AGI = ("agi://127.0.0.1:4573/callback?queue=ventas&entered={entered}&preinst={preinst}"
                "&call=1795497128.50")


def steps(b: Builder, context: str, exten: str, first: int, *apps: tuple[str, str],
          wait: float = 0.000011) -> int:
    """Newexten events of IVR_2 running `apps` from priority `first`; returns the next one."""
    for offset, (app, data) in enumerate(apps):
        b.channel_event("Newexten", IVR_2, [("Extension", exten), ("Application", app),
                                            ("AppData", data)],
                        wait=wait, privilege="dialplan,all", Context=context, Exten=exten,
                        Priority=str(first + offset))
        wait = 0.000011
    return first + len(apps)


def dtmf(b: Builder, digit: str, wait: float, **changes: str) -> None:
    b.channel_event("DTMFBegin", IVR_2, [("Digit", digit), ("Direction", "Received")], wait=wait,
                    privilege="dtmf,all", **changes)
    b.channel_event("DTMFEnd", IVR_2, [("Digit", digit), ("DurationMs", "250"),
                                       ("Direction", "Received")], wait=0.25,
                    privilege="dtmf,all", **changes)


def caller_hangs_up(b: Builder, **changes: str) -> None:
    b.channel_event("Hangup", IVR_2, [("Cause", "16"), ("Cause-txt", "Normal Clearing")],
                    **changes)
    b.hangup(IVR_1, "16", "Normal Clearing")
    b.device("Local/5550001001@from-pstn", "NOT_INUSE")


def caller_gives_up(b: Builder, wait: float, **changes: str) -> None:
    """The caller's side (IVR_1, the PSTN) hangs up first: HangupRequest, then both halves."""
    b.channel_event("HangupRequest", IVR_1, [("Cause", "16")], wait=wait)
    caller_hangs_up(b, **changes)


def ivr_hangup_in_menu() -> None:
    """Open: the greeting and menu play, and 4 s in the caller hangs up without pressing a key.
    No queue, no agent."""
    banner, blocks = load("ivr-menu.txt")
    b = Builder(blocks[:IVR_ANSWERED + 2])  # up to BackGround (the menu) on IVR_2
    caller_gives_up(b, 4.0, Context="ivr-main", Exten="s", Priority="3")
    dump("ivr-hangup-in-menu.txt", banner, b.blocks + [blocks[-1]])


def ivr_queue_abandon() -> None:
    """Menu 1 → queue ventas; no agent is free, and after 30 s of music the caller hangs up:
    QueueCallerAbandon (what app_queue says of a caller who left before being answered)."""
    banner, blocks = load("ivr-menu.txt")
    b = Builder(blocks[:IVR_QUEUED])
    ctx = {"Context": "ivr-main", "Exten": "1", "Priority": "2"}
    b.channel_event("HangupRequest", IVR_1, [("Cause", "16")], wait=30.0)
    b.channel_event("MusicOnHoldStop", IVR_2, **ctx)
    b.channel_event("QueueCallerAbandon", IVR_2, [("Queue", "ventas"), ("Position", "1"),
                                                  ("OriginalPosition", "1"),
                                                  ("HoldTime", "30")],
                    privilege="agent,all", **ctx)
    b.device("Queue:ventas", "NOT_INUSE")
    caller_hangs_up(b, **ctx)
    dump("ivr-queue-abandon.txt", banner, b.blocks + [blocks[-1]])


def ivr_after_hours() -> None:
    """Closed: the message, the offer to be called back, 1, the FastAGI `callback`, the
    confirmation, and the dialplan hangs up. No queue, no agent."""
    banner, blocks = load("ivr-menu.txt")
    b = Builder(blocks[:IVR_ANSWERED])
    ctx = {"Context": "ivr-closed", "Exten": "s"}
    steps(b, "ivr-closed", "s", 1, ("Set", "IVR_PATH=cerrado"),
          ("Playback", "/etc/asterisk/sounds/es/fuera-de-horario"), wait=0.5)
    steps(b, "ivr-closed", "s", 3, ("Set", "TIMEOUT(digit)=3"),
          ("BackGround", "/etc/asterisk/sounds/es/callback-cerrado"), wait=7.5)
    dtmf(b, "1", 2.0, Priority="4", **ctx)
    b.channel_event("VarSet", IVR_2, [("Variable", "BACKGROUNDSTATUS"), ("Value", "SUCCESS")],
                    privilege="dialplan,all", Priority="4", **ctx)
    steps(b, "ivr-closed", "1", 1, ("Set", "IVR_PATH=cerradoc"), ("Set", "SP_CALLBACK=failed"),
          ("AGI", CALLBACK_AGI.format(entered="1795497128", preinst="")))
    steps(b, "ivr-closed", "1", 4, ("GotoIf", "0?bye,1"),
          ("Playback", "/etc/asterisk/sounds/es/callback-confirmado-cerrado"), wait=0.01)
    steps(b, "ivr-closed", "1", 6, ("Hangup", ""), wait=5.5)
    caller_hangs_up(b, Context="ivr-closed", Exten="1", Priority="6")
    dump("ivr-after-hours.txt", banner, b.blocks + [blocks[-1]])


def ivr_queue_callback() -> None:
    """Menu 1 → queue ventas; no agent is free; after the periodic offer the caller presses 1:
    the queue lets them go to queue-exit, the FastAGI `callback` stores the request, the
    confirmation plays and the dialplan hangs up."""
    banner, blocks = load("ivr-menu.txt")
    b = Builder(blocks[:IVR_QUEUED])
    ctx = {"Context": "ivr-main", "Exten": "1", "Priority": "2"}
    dtmf(b, "1", 45.0, **ctx)
    b.channel_event("MusicOnHoldStop", IVR_2, **ctx)
    b.channel_event("QueueCallerLeave", IVR_2, [("Queue", "ventas"), ("Position", "1"),
                                                ("Count", "0")], privilege="agent,all", **ctx)
    b.device("Queue:ventas", "NOT_INUSE")
    steps(b, "queue-exit", "1", 1, ("Set", "IVR_PATH=1c"), ("Set", "SP_CALLBACK=failed"),
          ("GotoIf", "0?failed"),
          ("AGI", CALLBACK_AGI.format(entered="1795497131", preinst="1001")))
    steps(b, "queue-exit", "1", 5, ("GotoIf", "0?failed"),
          ("Playback", "/etc/asterisk/sounds/es/callback-confirmado"), wait=0.01)
    steps(b, "queue-exit", "1", 7, ("Hangup", ""), wait=5.5)
    caller_hangs_up(b, Context="queue-exit", Exten="1", Priority="7")
    dump("ivr-queue-callback.txt", banner, b.blocks + [blocks[-1]])


# --- dialer (shared/fixtures/ami/dialer, copied in ../dialer) ---------------------------------

AMD_CUSTOMER, AMD_UNIQUEID = "SIP/pstn-gw-00000016", "1796156376.24"
AMD_SIPCALLID = "4a4a00fe099bde194d672893641dcb17@127.0.0.1:5060"
QUEUED_CUSTOMER, QUEUED_UNIQUEID = "SIP/pstn-gw-0000000e", "c7-1002-customer"
QUEUED_SIPCALLID = "28d5abf603db2fe5630534c5494f78d2@127.0.0.1:5060"
QUEUE_AGENT = "SIP/6001-0000000f"
AMD_VERDICT_AFTER = 2.083  # amd-human: Newexten AMD → VarSet AMDSTATUS=HUMAN (HUMAN-800-800)
QUEUE_PRIORITY_AFTER_AMD = "5"  # [dialer-connect] amd: NoOp 1, AMD 2, NoOp 3, GotoIf 4, queue 5


def _as_amd_call(block: Block) -> Block:
    """A customer-first queue block re-told for the `amd` extension's queue step: Exten `amd`,
    the queue at priority 5, and the amd-machine call's PREINST_ID/SP_CALL on the customer."""
    out = []
    for key, value in block:
        prefix = "Dest" if key.startswith("Dest") else ""
        channel = get(block, prefix + "Channel")
        if key == prefix + "Exten" and value == "ventas" and channel in (AMD_CUSTOMER,
                                                                         QUEUE_AGENT):
            value = "amd"
        elif key == prefix + "Priority" and channel == AMD_CUSTOMER and value == "2":
            value = QUEUE_PRIORITY_AFTER_AMD
        elif key == prefix + "ChanVariable" and channel == AMD_CUSTOMER:
            value = {"PREINST_ID=1002": "PREINST_ID=1009", "SP_CALL=": "SP_CALL=amd-1"}.get(
                value, value)
        elif key == "Destination" and value == "ventas":
            value = "amd"
        out.append((key, value))
    return out


def dialer_amd_human_trunk() -> None:
    """amd-machine's call over the trunk until AMD starts, AMD saying HUMAN after amd-human's
    2.08 s, then customer-first's queue step (`SIP/6001` rings, answers, 3 s talk), re-told for
    the `amd` extension. The recorded amd-human call had a Local-channel customer."""
    banner, machine = load("dialer/amd-machine.txt")
    _, queued = load("dialer/customer-first.txt")
    head = machine[:23]  # through AMD starting, OriginateResponse Success, the trunk INUSE
    b = Builder(head)
    # the verdict's VarSets are amd-machine's own, with amd-human's values
    b.blocks.append(put(machine[23], Timestamp=f"{ts(machine[20]) + AMD_VERDICT_AFTER:.6f}",
                        Value="HUMAN"))
    b.at = ts(b.blocks[-1])
    b.blocks.append(put(machine[25], Timestamp=f"{b.tick():.6f}", Value="HUMAN-800-800"))
    b.blocks.append(put(machine[26], Timestamp=f"{b.tick():.6f}",
                        AppData="AMDSTATUS=HUMAN AMDCAUSE=HUMAN-800-800"))
    b.blocks.append(put(machine[27], Timestamp=f"{b.tick():.6f}", AppData="0?machine"))
    start = next(i for i, block in enumerate(queued) if get(block, "Application") == "Queue")
    tail = rename(queued[start:-1], {QUEUED_CUSTOMER: AMD_CUSTOMER,
                                     QUEUED_UNIQUEID: AMD_UNIQUEID,
                                     QUEUED_SIPCALLID: AMD_SIPCALLID})
    tail = [_as_amd_call(block) for block in shift(tail, b.tick() - ts(tail[0]))]
    dump("dialer-amd-human-trunk.txt", banner, b.blocks + tail + [machine[-1]])
    (HERE / "dialer-amd-human-trunk.sent.txt").write_bytes(
        (REAL / "dialer" / "amd-machine.sent.txt").read_bytes())


def retell(block: Block, name: str, at: float, extra: Block = (), drop_keys: tuple = (),
           **changes: str) -> Block:
    """A recorded block as another event of the same channel(s): its snapshot(s) with `changes`,
    the event's own headers in `extra`."""
    body = [(k, v) for k, v in put(block, **changes)[3:] if k not in drop_keys]
    return [("Event", name), ("Privilege", get(block, "Privilege") or "call,all"),
            ("Timestamp", f"{at:.6f}"), *body, *extra]


AGENT_FIRST_AGENT, AGENT_FIRST_CUSTOMER = "SIP/6001-0000000c", "SIP/pstn-gw-0000000d"
# the customer leg's end over the trunk, as the customer-first recordings show it (same trunk
# peer), and the wait before it: (kind, DialStatus, Hangup cause and text, wait, HANGUPCAUSE)
AGENT_FIRST_FAILURES = {
    # customer-busy: rings 1 s, 486 → DialEnd BUSY, Hangup 17 (User busy)
    "busy": ("BUSY", "17", "User busy", 1.002, "17"),
    # the dialplan's Dial(…,30) gives up: DialEnd NOANSWER, the trunk leg hung up with no cause
    # (sip-dialer-noanswer-busy: cause 0, HANGUPCAUSE 16)
    "noanswer": ("NOANSWER", "0", "Unknown", 30.0, "16"),
    # customer-not-found: 404 at once → HangupRequest 1, DialEnd NOANSWER, Hangup 1
    "not-found": ("NOANSWER", "1", "Unallocated (unassigned) number", 0.000291, "1"),
}


def dialer_agent_first_failure(kind: str) -> None:
    """agent-first.txt until the customer's trunk leg rings (not-found: until it is dialled),
    then that leg fails as in the customer-first recordings, and the agent's channel runs the
    rest of `[dialer]` (NoOp DIALSTATUS…, Hangup) as sip-dialer-noanswer-busy shows."""
    status, cause, cause_text, wait, hangupcause = AGENT_FIRST_FAILURES[kind]
    banner, blocks = load("dialer/agent-first.txt")
    head = blocks[:43] if kind == "not-found" else blocks[:48]
    at = ts(head[-1]) + wait
    customer = blocks[40] if kind == "not-found" else blocks[43]  # its latest snapshot
    dial = blocks[42] if kind == "not-found" else blocks[47]      # agent → customer
    tail: list[Block] = []

    def add(block: Block) -> None:
        nonlocal at
        tail.append(block)
        at += 0.000011

    if kind == "not-found":
        add(retell(customer, "HangupRequest", at, [("Cause", cause)]))
    add(retell(dial, "DialEnd", at, [("DialStatus", status)], drop_keys=("DialString",
                                                                         "DialStatus")))
    add(retell(customer, "Hangup", at, [("Cause", cause), ("Cause-txt", cause_text)]))
    add(put(blocks[88], Timestamp=f"{at:.6f}"))  # the trunk NOT_INUSE
    agent = blocks[21]  # the agent's VarSet DIALSTATUS (empty) at the Dial
    add(put(agent, Timestamp=f"{at:.6f}", Value=status))
    add(retell(blocks[19], "Newexten", at, Priority="3",
               AppData=f"DIALSTATUS={status} HANGUPCAUSE={hangupcause}"))
    add(retell(blocks[19], "Newexten", at, Priority="4", Application="Hangup", AppData=""))
    add(put(blocks[98], Timestamp=f"{at:.6f}", Priority="4"))  # SoftHangupRequest 16
    add(put(blocks[100], Timestamp=f"{at:.6f}", Priority="4"))  # Hangup 16
    add(put(blocks[101], Timestamp=f"{at:.6f}"))  # the agent's phone NOT_INUSE
    add(put(blocks[102], Timestamp=f"{at:.6f}"))  # its queue member status
    add(put(blocks[89], Timestamp=f"{at:.6f}", AnswerTime="", BillableSeconds="0",
            Disposition="BUSY" if status == "BUSY" else "NO ANSWER"))
    name = f"dialer-agent-first-{kind}"
    dump(f"{name}.txt", banner, head + tail + [blocks[-1]])
    (HERE / f"{name}.sent.txt").write_bytes((REAL / "dialer" / "agent-first.sent.txt").read_bytes())


def dialer_agent_noanswer() -> None:
    """agent-first.txt until the agent's phone rings, then the Originate's own timeout as
    customer-noanswer.txt shows it for the originated channel (Cdr NO ANSWER, OriginateResponse
    Failure Reason 3 with the requested channel, Hangup 19), here on the agent's channel, after
    the agent-first Originate's 30 s Timeout."""
    banner, blocks = load("dialer/agent-first.txt")
    _, timed_out = load("dialer/customer-noanswer.txt")
    head = blocks[:17]  # through the agent's phone RINGING
    ringing = blocks[14]  # the agent's Newstate Ringing: its latest snapshot
    at = ts(blocks[4]) + 30.0  # Timeout: 30000 after the Newchannel
    cdr, response, hangup = timed_out[-5], timed_out[-4], timed_out[-3]
    tail = [
        put(cdr, Timestamp=f"{at:.6f}", Destination="", DestinationContext="agents-sip",
            Channel=AGENT_FIRST_AGENT, StartTime="2026-12-01 20:14:03",
            EndTime="2026-12-01 20:14:33", Duration="30", UniqueID="c7-1001-agent"),
        put(response, Timestamp=f"{at + 0.000214:.6f}", ActionID="dialer-c7-1001",
            Channel="SIP/6001", Context="dialer", Exten="5215512345678",
            Uniqueid="c7-1001-agent"),
        retell(ringing, "Hangup", at + 0.000243, list(hangup[-2:])),
        put(blocks[101], Timestamp=f"{at + 0.000274:.6f}"),  # the phone NOT_INUSE
        put(blocks[102], Timestamp=f"{at + 0.000281:.6f}"),  # its queue member status
    ]
    dump("dialer-agent-noanswer.txt", banner, head + tail + [blocks[-1]])
    (HERE / "dialer-agent-noanswer.sent.txt").write_bytes(
        (REAL / "dialer" / "agent-first.sent.txt").read_bytes())


def main() -> None:
    dialer_agent_noanswer()
    for kind in AGENT_FIRST_FAILURES:
        dialer_agent_first_failure(kind)
    dialer_amd_human_trunk()
    ringall_other_answers()
    linear_noanswer_then_next()
    rrmemory()
    blind_transfer()
    attended_transfer()
    queue_hold()
    pjsip_inbound_direct()
    inbound_anonymous()
    ivr_after_hours()
    ivr_queue_callback()
    ivr_hangup_in_menu()
    ivr_queue_abandon()


if __name__ == "__main__":
    main()
