"""Buenos días / buenas tardes / buenas noches from the local time of the provider.

Boundaries (local wall-clock time, inclusive start): 05:00–11:59 → "dias", 12:00–18:59 →
"tardes", 19:00–04:59 → "noches". The closing line wishes "un excelente día" / "una excelente tarde" /
"una excelente noche" with the same split.
"""
from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

PartOfDay = Literal["dias", "tardes", "noches"]

GREETINGS: dict[str, str] = {"dias": "buenos días", "tardes": "buenas tardes",
                             "noches": "buenas noches"}
FAREWELLS: dict[str, str] = {"dias": "un excelente día", "tardes": "una excelente tarde",
                             "noches": "una excelente noche"}


def part_of_day(now: datetime, tz: ZoneInfo) -> PartOfDay:
    if now.tzinfo is None:
        raise ValueError("part_of_day needs an aware datetime (the clock's time zone is unknown)")
    hour = now.astimezone(tz).hour
    if 5 <= hour < 12:
        return "dias"
    if 12 <= hour < 19:
        return "tardes"
    return "noches"
