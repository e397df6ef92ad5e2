"""Which IANA time zone a customer lives in, from the record's own zone or its Mexican state.

Since the 2022 reform only the northern border keeps daylight-saving time (Baja California with
the US rules; the border strips of Chihuahua, Coahuila, Nuevo León and Tamaulipas likewise), so a
state maps to a tz-database zone, never to a fixed offset. A state alone cannot tell a border
municipality from the rest: a record that knows its zone says so explicitly.
"""
from __future__ import annotations

import unicodedata
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

STATE_ZONES = {
    "aguascalientes": "America/Mexico_City",
    "baja california": "America/Tijuana",
    "baja california sur": "America/Mazatlan",
    "campeche": "America/Merida",
    "chiapas": "America/Mexico_City",
    "chihuahua": "America/Chihuahua",
    "ciudad de mexico": "America/Mexico_City",
    "coahuila": "America/Monterrey",
    "colima": "America/Mexico_City",
    "durango": "America/Monterrey",
    "estado de mexico": "America/Mexico_City",
    "guanajuato": "America/Mexico_City",
    "guerrero": "America/Mexico_City",
    "hidalgo": "America/Mexico_City",
    "jalisco": "America/Mexico_City",
    "michoacan": "America/Mexico_City",
    "morelos": "America/Mexico_City",
    "nayarit": "America/Mazatlan",
    "nuevo leon": "America/Monterrey",
    "oaxaca": "America/Mexico_City",
    "puebla": "America/Mexico_City",
    "queretaro": "America/Mexico_City",
    "quintana roo": "America/Cancun",
    "san luis potosi": "America/Mexico_City",
    "sinaloa": "America/Mazatlan",
    "sonora": "America/Hermosillo",
    "tabasco": "America/Mexico_City",
    "tamaulipas": "America/Monterrey",
    "tlaxcala": "America/Mexico_City",
    "veracruz": "America/Mexico_City",
    "yucatan": "America/Merida",
    "zacatecas": "America/Mexico_City",
}
ALIASES = {
    "cdmx": "ciudad de mexico", "df": "ciudad de mexico", "distrito federal": "ciudad de mexico",
    "mexico": "estado de mexico", "edomex": "estado de mexico", "edo mex": "estado de mexico",
    "bc": "baja california", "bcs": "baja california sur", "qroo": "quintana roo",
    "q roo": "quintana roo", "nl": "nuevo leon", "slp": "san luis potosi",
    "coahuila de zaragoza": "coahuila", "michoacan de ocampo": "michoacan",
    "veracruz de ignacio de la llave": "veracruz",
}


class UnknownZone(ValueError):
    """A zone name the tz database does not know; the message says which."""


def zone_named(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownZone(f"zona horaria desconocida: {name!r} (se espera un nombre IANA como "
                          "America/Mexico_City)") from None


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    letters = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return " ".join(letters.replace(".", " ").replace("-", " ").split())


def zone_for(*, explicit: str | None, state: str | None, default: str) -> str:
    """The record's IANA zone name: its own zone when it has one, else its state's, else the
    deployment's default (TZ_NAME). An explicit name is checked against the tz database."""
    if explicit and explicit.strip():
        return zone_named(explicit.strip()).key
    if state and state.strip():
        plain = _plain(state)
        plain = ALIASES.get(plain, plain)
        if plain.startswith("estado de ") and plain not in STATE_ZONES:
            plain = plain.removeprefix("estado de ")
        if plain in STATE_ZONES:
            return STATE_ZONES[plain]
    return zone_named(default).key
