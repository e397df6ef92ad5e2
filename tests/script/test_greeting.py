"""Buenos días / buenas tardes / buenas noches at the boundaries, local and UTC clocks."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from screenpop.script.greeting import part_of_day
from screenpop.script.steps import render_script

MEXICO = ZoneInfo("America/Mexico_City")   # UTC-6 all year (no daylight saving since 2022)

BOUNDARIES = [("04:59", "noches"), ("05:00", "dias"), ("11:59", "dias"), ("12:00", "tardes"),
              ("18:59", "tardes"), ("19:00", "noches"), ("00:00", "noches"), ("23:59", "noches")]


@pytest.mark.parametrize(("local", "expected"), BOUNDARIES, ids=[b[0] for b in BOUNDARIES])
def test_boundaries_on_a_local_clock(local, expected):
    hour, minute = map(int, local.split(":"))
    assert part_of_day(datetime(2025, 3, 10, hour, minute, tzinfo=MEXICO), MEXICO) == expected


@pytest.mark.parametrize(("local", "expected"), BOUNDARIES, ids=[b[0] for b in BOUNDARIES])
def test_boundaries_on_a_utc_clock(local, expected):
    hour, minute = map(int, local.split(":"))
    utc = datetime(2025, 3, 10, hour, minute, tzinfo=MEXICO).astimezone(UTC)
    assert utc.tzinfo is UTC and utc.hour == (hour + 6) % 24
    assert part_of_day(utc, MEXICO) == expected


def test_a_naive_clock_is_refused():
    with pytest.raises(ValueError, match="aware"):
        part_of_day(datetime(2025, 3, 10, 9), MEXICO)


@pytest.mark.parametrize(("utc_hour", "greeting", "farewell"), [
    (10, "buenas noches", "una excelente noche"),    # 04:00 in Mexico City
    (11, "buenos días", "un excelente día"),         # 05:00
    (18, "buenas tardes", "una excelente tarde"),    # 12:00
    (1, "buenas noches", "una excelente noche"),     # 19:00 the day before
])
def test_greeting_and_closing_lines_follow_the_local_time(config, utc_hour, greeting, farewell):
    script = render_script(config, record=None, agent_name="Ana", answers={},
                           now=datetime(2025, 3, 10, utc_hour, tzinfo=UTC))
    steps = {s["id"]: s for s in script["steps"]}
    assert steps["saludo"]["say"][0].startswith(f"Hola, muy {greeting}. Se comunica a Red Veloz "
                                                "Internet, servicio de internet. Le atiende Ana.")
    assert steps["cierre"]["say"][-1] == (f"Gracias por su llamada, le atendió Ana. "
                                          f"Que tenga {farewell}.")
