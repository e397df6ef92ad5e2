"""Reading a do-not-call list from CSV (pure): a REPEP export or any sheet with a phone column.

The phone column is the one headed teléfono/número/phone/tel/celular, else the first; a first
row with words and no number is a header. Each number is normalised to E.164 with
common.phones; a row that holds no valid number is reported with its line, never fatal.
"""
from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass, field

from common.phones import to_e164

PHONE_HEADERS = ("telefono", "numero", "phone", "tel", "celular", "movil", "numero telefonico")


@dataclass(frozen=True)
class BadRow:
    line: int
    value: str
    reason: str


@dataclass
class ParsedList:
    numbers: list[str] = field(default_factory=list)   # E.164, in order, without repeats
    bad_rows: list[BadRow] = field(default_factory=list)
    repeated: int = 0


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def parse_dnc_csv(text: str) -> ParsedList:
    parsed = ParsedList()
    lines = text.lstrip("\ufeff").splitlines()
    if not lines:
        return parsed
    try:
        dialect = csv.Sniffer().sniff(lines[0], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO("\n".join(lines)), dialect))
    column, start = 0, 0
    header = [_plain(cell) for cell in rows[0]] if rows else []
    if header and not any(to_e164(cell) for cell in rows[0]) \
            and any(ch.isalpha() for cell in header for ch in cell):
        start = 1
        column = next((i for i, cell in enumerate(header) if cell in PHONE_HEADERS), 0)
    seen: set[str] = set()
    for line, row in enumerate(rows[start:], start=start + 1):
        if not any(cell.strip() for cell in row):
            continue
        value = row[column].strip() if column < len(row) else ""
        number = to_e164(value)
        if number is None:
            reason = "fila sin columna de teléfono" if column >= len(row) else \
                "no es un número telefónico válido"
            parsed.bad_rows.append(BadRow(line, value[:60], reason))
        elif number in seen:
            parsed.repeated += 1
        else:
            seen.add(number)
            parsed.numbers.append(number)
    return parsed
