"""Spanish one-line call orders for the control endpoint (pure).

"llamada entrante de +525512345678 a la cola ventas" → an inbound queue call;
"llamada directa al 6001 de 5512345678" → dialled straight to an agent;
"llamada saliente del 6001 al 5512345678" → the agent calls out;
"llamada fuera de horario de 5512345678" → after hours, the caller asks to be called back;
"llamada de 5512345678 que pide devolución en la cola ventas" → a waiting caller asks for one.
A withheld caller can be said as "de un número privado/anónimo/oculto/desconocido".
"""
from __future__ import annotations

import re
import unicodedata

HELP = ("No entendí la orden. Ejemplos: «llamada entrante de +525512345678 a la cola ventas», "
        "«llamada directa al 6001 de 5512345678», «llamada saliente del 6001 al 5512345678», "
        "«llamada fuera de horario de 5512345678», «llamada de 5512345678 que pide devolución "
        "en la cola ventas».")

_NUMBER = r"(\+?[\d][\d \-]{2,}\d)"
_WITHHELD = r"(?:un )?numero (?:privado|anonimo|oculto|desconocido|restringido)"
_FROM = rf"de (?:{_NUMBER}|(?P<withheld>{_WITHHELD}))"
_AGENT = r"(?:la )?(?:extension |ext |agente |asesor |asesora )?(\d{2,6})"


class SayError(ValueError):
    """An order that could not be understood; the message is Spanish, for the user."""


def _plain(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.lower())
    return " ".join("".join(c for c in folded if not unicodedata.combining(c)).split())


def _digits(number: str) -> str:
    return re.sub(r"[ \-]", "", number)


def _caller(match: re.Match[str]) -> str:
    if match.group("withheld"):
        return "anonymous"
    return _digits(match.group(1))


def parse_order(text: str, *, tech: str = "PJSIP") -> dict[str, object]:
    """Turn an order into start_call parameters (`scenario` included) or raise SayError."""
    plain = _plain(text)
    callback = _ivr_callback(plain)
    if callback is not None:
        return callback
    queue = re.search(r"a la cola ([\w\-]+)", plain)
    if "entrante" in plain and queue:
        caller = re.search(_FROM, plain)
        if not caller:
            raise SayError("Falta el número de quien llama, p. ej. «llamada entrante de "
                           "+525512345678 a la cola ventas».")
        return {"scenario": "inbound_queue", "customer": _caller(caller),
                "queue": queue.group(1)}
    direct = re.search(rf"directa (?:al|a la|a) {_AGENT}", plain)
    if direct:
        caller = re.search(_FROM, plain[:direct.start()] + plain[direct.end():])
        if not caller:
            raise SayError("Falta el número de quien llama, p. ej. «llamada directa al 6001 "
                           "de 5512345678».")
        return {"scenario": "inbound_direct", "customer": _caller(caller),
                "agents": [f"{tech}/{direct.group(1)}"]}
    outbound = re.search(rf"saliente del? {_AGENT} (?:al|a) {_NUMBER}", plain)
    if outbound:
        return {"scenario": "agent_outbound", "customer": _digits(outbound.group(2)),
                "agents": [f"{tech}/{outbound.group(1)}"]}
    raise SayError(HELP)


def _ivr_callback(plain: str) -> dict[str, object] | None:
    """The IVR calls that end in a callback request and reach no agent."""
    closed = "fuera de horario" in plain
    if not closed and not re.search(r"devolucion|que le (?:llamen|regresen)", plain):
        return None
    caller = re.search(_FROM, plain)
    if not caller:
        raise SayError("Falta el número de quien llama, p. ej. «llamada fuera de horario de "
                       "5512345678».")
    order: dict[str, object] = {"scenario": "ivr_after_hours" if closed else "ivr_callback",
                                "customer": _caller(caller), "agents": []}
    queue = re.search(r"(?:a|en) la cola ([\w\-]+)", plain)
    if queue and not closed:
        order["queue"] = queue.group(1)
    return order
