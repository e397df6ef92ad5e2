"""The one reader of JSON request bodies: whatever arrives, the route gets plain JSON values
(strict UTF-8, no lone surrogates, finite numbers, bounded depth) or the client gets a 400 with
a Spanish message — never a traceback.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any

from aiohttp import web

MAX_DEPTH = 20
_SURROGATE = re.compile("[\ud800-\udfff]")
_CALL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class BadBody(ValueError):
    """Why a body is not usable JSON; the message is for the user (Spanish)."""


def parse_json(raw: bytes, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of a request body (pure); BadBody says why it cannot be used."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadBody("El contenido no es texto UTF-8 válido.") from None
    if not text.strip():
        raise BadBody("La petición llegó vacía; se esperaba JSON.")
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise BadBody(f"El JSON está anidado a más de {max_depth} niveles.") from None
    except ValueError as exc:
        if isinstance(exc, BadBody):
            raise
        raise BadBody("El contenido no es JSON válido.") from None
    _check(value, max_depth)
    return value


def valid_call_id(call_id: str) -> bool:
    """An Asterisk Uniqueid (optionally with the system name) or another short plain id."""
    return bool(_CALL_ID.match(call_id))


async def read_json(request: web.Request) -> Any:
    """The request's JSON body; raises 400/413 with {"error", "message"} when unusable."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise web.HTTPRequestEntityTooLarge(0, text=json.dumps({
            "error": "too_large", "message": "La petición es demasiado grande."}),
            content_type="application/json") from None
    try:
        return parse_json(raw)
    except BadBody as exc:
        raise _error(web.HTTPBadRequest, "bad_json", str(exc)) from None


def bad_call_id() -> web.HTTPBadRequest:
    return _error(web.HTTPBadRequest, "bad_call_id",
                  "El identificador de la llamada no es válido; recargue la página.")


def _error(kind, code: str, message: str) -> web.HTTPException:
    return kind(text=json.dumps({"error": code, "message": message}),
                content_type="application/json")


def _refuse_constant(name: str) -> Any:
    raise BadBody(f"El JSON trae {name}, que no es un número válido.")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadBody("El JSON trae un número fuera de rango.")
    return value


def _check(value: Any, max_depth: int) -> None:
    """Depth and strings of a parsed value, without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > max_depth:
                raise BadBody(f"El JSON está anidado a más de {max_depth} niveles.")
            if isinstance(item, dict):
                for key, child in item.items():
                    _check_text(key)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            _check_text(item)


def _check_text(text: str) -> None:
    if _SURROGATE.search(text):
        raise BadBody("El texto trae caracteres inválidos (sustitutos Unicode sueltos).")
