"""What a pending preinstallation still lacks, as the call procedure (PASO 2 and 6) asks for it.

Keys are stable identifiers shared with the web page; labels are what the agent reads.
Presence is decided only from what WispHub stores for a preinstallation (the
`solicitar-instalacion` fields and files, or the panel row); things WispHub has no field for
(how they heard of us, own or rented home) count as present only when the comments say so.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection

MISSING_FIELDS: dict[str, str] = {
    "phone": "Teléfono",
    "address": "Dirección",
    "dni_front": "INE (frente)",
    "dni_back": "INE (reverso)",
    "proof_of_address": "Comprobante de domicilio",
    "email": "Correo electrónico",
    "extra_phone": "Teléfono adicional",
    "referral": "¿Cómo se enteró?",
    "location": "Ubicación en tiempo real",
    "housing": "Casa propia o rentada",
}

DOCUMENTS = ("dni_front", "dni_back", "proof_of_address")

_REFERRAL = re.compile(r"(como se entero|se entero por|medio de contacto|referido por|nos conocio)")
_HOUSING = re.compile(r"\b(casa|vivienda|domicilio)\s+(propia|rentada)\b|\b(es\s+)?(propia|rentada)\b")
_COORDINATES = re.compile(r"-?\d{1,3}\.\d+\s*,\s*-?\d{1,3}\.\d+|maps\.|goo\.gl|maps\.app")


def fold(text: str | None) -> str:
    """Lower-case text without accents, for matching Spanish words however they were typed."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def still_missing(missing: Collection[str], address: str | None) -> tuple[str, ...]:
    """A record's missing keys, except what the record itself shows: an address on screen is
    not missing."""
    return tuple(key for key in missing if not (key == "address" and (address or "").strip()))


def missing_fields(*, phones: Collection[str], extra_phone: str | None, email: str | None,
                   address: str | None, coordinates: str | None, comments: str | None,
                   documents: Collection[str]) -> tuple[str, ...]:
    """The MISSING_FIELDS keys a record lacks, in display order.

    `phones` are the valid numbers of the main phone field (the web form joins main and
    additional numbers with commas, so a second number there is the additional one);
    `documents` holds the DOCUMENTS keys WispHub has files for.
    """
    notes = fold(comments)
    present = {
        "phone": bool(phones),
        "address": bool(address and address.strip()),
        "email": bool(email and "@" in email),
        "extra_phone": bool(extra_phone and extra_phone.strip()) or len(phones) > 1,
        "referral": bool(_REFERRAL.search(notes)),
        "location": bool(coordinates and _COORDINATES.search(coordinates)),
        "housing": bool(_HOUSING.search(notes)),
    }
    present.update({doc: doc in documents for doc in DOCUMENTS})
    return tuple(key for key in MISSING_FIELDS if not present[key])
