"""Phone numbers to E.164 with Google's phonenumbers, default region MX.

Current phonenumbers (≥ 8.13.38) no longer strips Mexico's pre-2019 dialling forms (`521…`,
`044/045…`, `01…`) and reports them as invalid, so they are removed here first.
"""
from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

_NOT_DIGITS = re.compile(r"[^\d+]")
_LEGACY_MX = (
    (re.compile(r"^\+?521(\d{10})$"), r"+52\1"),
    (re.compile(r"^52(\d{10})$"), r"+52\1"),
    (re.compile(r"^04[45](\d{10})$"), r"+52\1"),
    (re.compile(r"^01(\d{10})$"), r"+52\1"),
)
_SEPARATORS = re.compile(r"[,;/|]|\s{2,}|\by\b|\bo\b")
_EXTENSION = re.compile(r"\s*(?:ext\.?|extensi[oó]n|x)\s*\d{1,5}\b", re.IGNORECASE)


def is_withheld(raw: str | None) -> bool:
    """True for caller IDs that are not a number: empty, `anonymous`, `<unknown>`, `Restricted`…"""
    if raw is None:
        return True
    digits = raw.strip()
    return not digits or not re.fullmatch(r"\+?[\d\s().-]+", digits) or not re.search(r"\d", digits)


@lru_cache(maxsize=4096)
def to_e164(raw: str | None, region: str = "MX") -> str | None:
    """The E.164 form of one number, or None when it is withheld or not a valid number."""
    if is_withheld(raw):
        return None
    cleaned = _NOT_DIGITS.sub("", raw or "")
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    if region == "MX":
        for pattern, replacement in _LEGACY_MX:
            if pattern.match(cleaned):
                cleaned = pattern.sub(replacement, cleaned)
                break
    try:
        number = phonenumbers.parse(cleaned, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def split_numbers(raw: str | None) -> list[str]:
    """The separate numbers in a field that may hold several (`"55 1234 5678, 5587654321"`)."""
    if not raw:
        return []
    without_extensions = _EXTENSION.sub("", raw)
    return [part.strip() for part in _SEPARATORS.split(without_extensions) if part and part.strip()]


def all_e164(raw: str | None, region: str = "MX") -> list[str]:
    """Every valid number found in a field, normalised, without duplicates, in order."""
    seen: dict[str, None] = {}
    for part in split_numbers(raw):
        number = to_e164(part, region)
        if number:
            seen.setdefault(number, None)
    return list(seen)


@lru_cache(maxsize=4096)
def display(e164: str) -> str:
    """A readable national-style rendering for the screen: `+52 55 1234 5678`."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def readable(raw: str | None) -> str:
    """Any stored number for the screen: `display` of its E.164 form, else the raw text as it
    came (a withheld caller ID, an extension); an em dash when there is none."""
    if not raw:
        return "—"
    e164 = to_e164(raw)
    return display(e164) if e164 else raw
