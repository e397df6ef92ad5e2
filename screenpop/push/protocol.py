"""The agent WebSocket protocol, version 1: every frame the server sends or accepts on `/ws`, the
checks on inbound frames, and the close codes. docs/websocket.md describes this module; keep both
in step (a removed or renamed key, or a changed meaning, bumps PROTOCOL_VERSION).

Everything here is pure: builders return the dict that is sent as one JSON text frame, and
`parse_inbound` turns one inbound text frame into a typed frame or a ProtocolError carrying the
`error` frame to answer with (the socket stays open).
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from common.envelope import DIALER_CALL_VARIABLE, CallUpdate
from screenpop.pops import customer, placed_by_agent

PROTOCOL_VERSION = 1

# Close codes (docs/websocket.md, "Close codes").
CLOSE_GOING_AWAY = 1001
CLOSE_MESSAGE_TOO_BIG = 1009  # sent by aiohttp itself for frames over MAX_INBOUND_BYTES
CLOSE_SLOW_CONSUMER = 4001
CLOSE_SESSION_ENDED = 4003

MAX_INBOUND_BYTES = 4096
MAX_INBOUND_DEPTH = 8  # browser frames are flat objects; deeper nesting is refused
MAX_SEQ = 2**53 - 1  # what a browser's Number holds exactly
# Asterisk's Uniqueid ("1732431000.42", optionally "<systemname>-1732431000.42"); test and
# simulator ids are short words of the same alphabet.
CALL_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")

# Leg state of the agent's endpoint → (pop state, reason)
LEG_STATES: dict[str, tuple[str, str | None]] = {
    "ringing": ("ringing", None),
    "answered": ("answered", None),
    "answered_elsewhere": ("ended", "answered_elsewhere"),
    "missed": ("ended", "missed"),
    "transferred": ("ended", "transferred"),
    "ended": ("ended", None),
}

# Inbound error codes and what the page (or whoever wrote the frame) is told.
ERRORS: dict[str, str] = {
    "not_json": "El mensaje no es JSON válido.",
    "too_deep": "El mensaje tiene demasiados niveles anidados.",
    "unknown_type": "Tipo de mensaje desconocido.",
    "binary_not_supported": "Solo se aceptan mensajes de texto JSON.",
    "bad_ack": "Confirmación inválida: call_id debe ser un identificador de llamada y seq un "
               "entero.",
    "unknown_call": "Esa llamada no está en curso en su extensión: no se registró la "
                    "confirmación.",
}


# IVR_PATH symbols (asterisk-config/extensions.conf, context `ivr`) → (short, full) Spanish labels
IVR_STEPS: dict[str, tuple[str, str]] = {
    "1": ("Contratar", "Contratar / seguimiento de instalación"),
    "2": ("Soporte", "Soporte técnico"),
    "3": ("Pagos", "Pagos"),
    "0": ("Asesor", "Hablar con un asesor"),
    "t": ("Sin tecla", "No marcó ninguna opción"),
    "c": ("Devolución", "Pidió que le devuelvan la llamada"),
    "cerrado": ("Cerrado", "Llamó fuera de horario"),
}
INVALID_IVR_STEP = ("Inválida", "Tecla no válida")
IVR_MATCHES = frozenset({"one", "many", "none", "unknown"})
CALLBACK_PREFIX = "callback-"  # of SP_CALL on the calls telephony.dialer.queue_callbacks places


def is_call_id(value: object) -> bool:
    """A string of the shape of a call id (anything else is refused before touching Redis)."""
    return isinstance(value, str) and CALL_ID_PATTERN.fullmatch(value) is not None


# --- server → browser ---------------------------------------------------------------------------

def pop(update: CallUpdate, endpoint: str, leg: str, match: Mapping[str, Any], *,
        campaign_name: str | None = None) -> dict[str, Any]:
    """A call as the agent at `endpoint` sees it (`leg`: their leg state in the call);
    `campaign` names the dialer campaign that placed it."""
    state, reason = LEG_STATES[leg]
    if update.state == "ended" and state != "ended":
        state = "ended"
    number, shown = customer(update)
    return {
        "type": "pop",
        "version": PROTOCOL_VERSION,
        "call_id": update.call_id,
        "seq": update.seq,
        "direction": update.direction,
        "placed_by_agent": placed_by_agent(update, endpoint),
        "state": state,
        "reason": reason,
        "agent_endpoint": endpoint,
        "customer_number": number,
        "customer_raw": update.customer_number,
        "customer_display": shown,
        "queue": update.queue,
        "started_at": update.started_at,
        "event_at": update.event_at,
        "match": dict(match),
        "ivr": ivr(update.variables),
        "callback": callback(update.variables),
        "campaign": {"name": campaign_name} if update.campaign_id else None,
    }


def _epoch(text: str | None) -> float | None:
    try:
        value = float(text) if text else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) and value > 0 else None


def ivr(variables: Mapping[str, str]) -> dict[str, Any] | None:
    """What the caller did in the IVR (channel variables IVR_PATH, IVR_STARTED, QUEUE_ENTERED,
    SP_MATCH, SP_PREINST_ID), or None for a call that did not go through it."""
    path = variables.get("IVR_PATH", "")
    started = _epoch(variables.get("IVR_STARTED"))
    if not path and started is None:
        return None
    closed = path.startswith("cerrado")
    keys = ["cerrado", *path.removeprefix("cerrado")] if closed else list(path)
    steps = [{"key": key, "short": short, "label": label}
             for key in keys for short, label in [IVR_STEPS.get(key, INVALID_IVR_STEP)]]
    match = variables.get("SP_MATCH")
    return {"path": path, "steps": steps, "started_at": started,
            "queue_entered_at": _epoch(variables.get("QUEUE_ENTERED")),
            "lookup_match": match if match in IVR_MATCHES else None,
            "lookup_preinstallation_id": variables.get("SP_PREINST_ID") or None}


def callback(variables: Mapping[str, str]) -> dict[str, Any] | None:
    """A call the queue callbacks placed for a caller who asked in the IVR to be called back
    (its dialer attempt id, SP_CALL, is `callback-…`), else None."""
    attempt = variables.get(DIALER_CALL_VARIABLE, "")
    if not attempt.startswith(CALLBACK_PREFIX) or not is_call_id(attempt):
        return None
    return {"attempt_id": attempt}


def hello(user: Mapping[str, Any], endpoints: Iterable[str], *, server_time: float,
          ping_interval: float) -> dict[str, Any]:
    return {"type": "hello", "version": PROTOCOL_VERSION, "user": dict(user),
            "endpoints": list(endpoints), "server_time": server_time,
            "ping_interval": ping_interval}


def synced(call_ids: Iterable[str]) -> dict[str, Any]:
    """Sent after the live pops of a (re)connect: calls not listed are no longer live."""
    return {"type": "synced", "version": PROTOCOL_VERSION, "call_ids": list(call_ids)}


def agent_state(agent: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "agent_state", "version": PROTOCOL_VERSION, "agent": dict(agent)}


def agents(states: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    return {"type": "agents", "version": PROTOCOL_VERSION, "agents": [dict(s) for s in states]}


def acked(call_id: str, seq: int) -> dict[str, Any]:
    return {"type": "acked", "version": PROTOCOL_VERSION, "call_id": call_id, "seq": seq}


def script(call_id: str, record_id: str | None, rendered: Any, progress: Mapping[str, Any], *,
           record: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The guided call for one call: steps, the record as it stands now, the agent's progress."""
    return {"type": "script", "version": PROTOCOL_VERSION, "call_id": call_id,
            "record_id": record_id, "script": rendered,
            "record": dict(record) if record is not None else None, "progress": dict(progress)}


def operation(public: Mapping[str, Any]) -> dict[str, Any]:
    """One WispHub write's new state (screenpop.operations.model.Operation.public())."""
    return {"type": "operation", "version": PROTOCOL_VERSION, **public}


def campaigns(items: Iterable[Mapping[str, Any]], *, at: float) -> dict[str, Any]:
    """Every campaign's progress and the dialer's live figures, for supervisors and admins
    only (screenpop.campaigns.live builds the items)."""
    return {"type": "campaigns", "version": PROTOCOL_VERSION, "at": at,
            "campaigns": [dict(item) for item in items]}


def callbacks_changed(queue: str) -> dict[str, Any]:
    """The IVR callbacks of `queue` changed (supervisors and admins only): read the list again
    (GET /api/callbacks)."""
    return {"type": "callbacks_changed", "version": PROTOCOL_VERSION, "queue": queue}


def preview(offer: Mapping[str, Any] | None,
            match: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A campaign's preview offer for the agent (the record to call, before dialling), or
    `offer: null` when it was withdrawn, taken or decided in another tab. `match` has the pop's
    shape (the record with what is missing) when the index has the preinstallation."""
    return {"type": "preview", "version": PROTOCOL_VERSION,
            "offer": dict(offer) if offer is not None else None,
            "match": dict(match) if match is not None else None}


def disposition(call_id: str, saved: Mapping[str, Any]) -> dict[str, Any]:
    """The result one tab of the agent saved for a call, for the agent's other tabs."""
    return {"type": "disposition", "version": PROTOCOL_VERSION, "call_id": call_id,
            "saved": dict(saved)}


def ping() -> dict[str, Any]:
    return {"type": "ping", "version": PROTOCOL_VERSION}


def pong(t: float | None) -> dict[str, Any]:
    return {"type": "pong", "version": PROTOCOL_VERSION, "t": t}


def error(code: str) -> dict[str, Any]:
    return {"type": "error", "version": PROTOCOL_VERSION, "code": code, "message": ERRORS[code]}


# --- between nodes, on an agent's channel (never sent to a browser) -----------------------------

SESSION_ENDED = "session_ended"


def session_ended(session_fingerprint: str) -> dict[str, Any]:
    """Close the sockets opened with this session, on every node."""
    return {"type": SESSION_ENDED, "session": session_fingerprint}


# --- browser → server ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Ping:
    t: float | None  # echoed in the pong when it is a finite number


@dataclass(frozen=True)
class Pong:
    pass


@dataclass(frozen=True)
class Ack:
    call_id: str
    seq: int
    seen: bool


InboundFrame = Ping | Pong | Ack


class ProtocolError(ValueError):
    """An inbound frame the server does not accept; `reply` is the error frame to send."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code
        self.reply = error(code)


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _depth(value: object) -> int:
    """How deeply lists and objects nest in a parsed JSON value (without recursion)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, depth = todo.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_INBOUND_DEPTH:
            break
        todo.extend((child, depth + 1) for child in children)
    return deepest


def _finite(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return value if math.isfinite(value) else None
    except OverflowError:  # an integer too large for a float
        return None


def parse_inbound(text: str) -> InboundFrame:
    try:
        frame = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ProtocolError("too_deep") from None
    except ValueError:
        raise ProtocolError("not_json") from None
    if _depth(frame) > MAX_INBOUND_DEPTH:
        raise ProtocolError("too_deep")
    kind = frame.get("type") if isinstance(frame, dict) else None
    if kind == "ack":
        call_id, seq = frame.get("call_id"), frame.get("seq")
        if not is_call_id(call_id) or type(seq) is not int or not 0 <= seq <= MAX_SEQ:
            raise ProtocolError("bad_ack")
        return Ack(call_id, seq, frame.get("seen") is True)
    if kind == "ping":
        return Ping(_finite(frame.get("t")))
    if kind == "pong":
        return Pong()
    raise ProtocolError("unknown_type")
