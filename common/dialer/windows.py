"""When a customer may be called: hours per weekday in the customer's own local time, closed on
Mexican public holidays (the `holidays` library's calendar) and on dates a campaign adds."""
from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# How far ahead next_open looks before it concludes that a window never opens.
SEARCH_DAYS = 400


class WindowConfigError(ValueError):
    """A calling-window setting that cannot be used; the message names it (Spanish)."""


def mexican_holidays() -> Container[date]:
    """Mexico's statutory rest days (LFT art. 74), the calendar the default windows skip."""
    return holidays.country_holidays("MX", language="es")


@dataclass(frozen=True)
class CallingWindows:
    """hours: weekday (0 = Monday) → (start, end) local time; a weekday not listed is closed."""

    hours: Mapping[int, tuple[time, time]]
    holidays: Container[date] = field(default_factory=frozenset)
    closed_dates: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        for weekday, (start, end) in self.hours.items():
            if not 0 <= weekday <= 6:
                raise WindowConfigError(f"día de la semana inválido: {weekday}")
            if start >= end:
                raise WindowConfigError(f"el horario del {WEEKDAYS[weekday]} termina antes de "
                                        f"empezar ({start:%H:%M}–{end:%H:%M})")

    @classmethod
    def default(cls, calendar: Container[date] | None = None) -> CallingWindows:
        """Monday–Friday 09:00–19:00 and Saturday 09:00–14:00, closed on public holidays."""
        weekday_hours = (time(9), time(19))
        return cls({**dict.fromkeys(range(5), weekday_hours), 5: (time(9), time(14))},
                   mexican_holidays() if calendar is None else calendar)

    @classmethod
    def from_config(cls, config: Mapping[str, object],
                    calendar: Container[date] | None = None) -> CallingWindows:
        """From a campaign's settings: {"hours": {"mon": "09:00-19:00", …}, "holidays": true,
        "closed_dates": ["2026-12-12"]}; a missing "hours" keeps the default hours."""
        hours = dict(cls.default(frozenset()).hours)
        if "hours" in config:
            raw_hours = config["hours"]
            if not isinstance(raw_hours, Mapping):
                raise WindowConfigError("«hours» debe ser un objeto día → «HH:MM-HH:MM»")
            hours = {}
            for day, span in raw_hours.items():
                if day not in WEEKDAYS:
                    raise WindowConfigError(f"día desconocido {day!r} (use {', '.join(WEEKDAYS)})")
                hours[WEEKDAYS.index(day)] = _span(day, span)
        observe = config.get("holidays", True)
        if not isinstance(observe, bool):
            raise WindowConfigError("«holidays» debe ser true o false")
        try:
            closed = frozenset(date.fromisoformat(str(d)) for d in config.get("closed_dates", ()))
        except ValueError as exc:
            raise WindowConfigError(f"fecha inválida en «closed_dates»: {exc}") from None
        chosen = (mexican_holidays() if calendar is None else calendar) if observe else frozenset()
        return cls(hours, chosen, closed)

    def _hours_on(self, day: date) -> tuple[time, time] | None:
        if day in self.closed_dates or day in self.holidays:
            return None
        return self.hours.get(day.weekday())

    def is_open(self, at: datetime, zone: ZoneInfo) -> bool:
        local = at.astimezone(zone)
        span = self._hours_on(local.date())
        return span is not None and span[0] <= local.time().replace(tzinfo=None) < span[1]

    def next_open(self, at: datetime, zone: ZoneInfo) -> datetime | None:
        """The first instant at or after `at` (aware) when the window is open in `zone`, in UTC;
        None when it never opens (no hours at all)."""
        day = at.astimezone(zone).date()
        for _ in range(SEARCH_DAYS):
            span = self._hours_on(day)
            if span is not None:
                opens = datetime.combine(day, span[0], tzinfo=zone).astimezone(UTC)
                closes = datetime.combine(day, span[1], tzinfo=zone).astimezone(UTC)
                if at < closes:
                    return max(at.astimezone(UTC), opens)
            day += timedelta(days=1)
        return None


def _span(day: str, span: object) -> tuple[time, time]:
    try:
        start, end = str(span).split("-")
        return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError:
        raise WindowConfigError(f"horario inválido para {day}: {span!r} (se espera "
                                "«HH:MM-HH:MM»)") from None
