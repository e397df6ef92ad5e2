"""The agent's disposition as the page sends it, checked and turned into what is stored (pure).

Body: {"disposition": id, "notes": text, and for a callback disposition "callback_date":
"YYYY-MM-DD", "callback_time": "HH:MM" (local time in the call's zone), "callback_for": "me" |
"anyone" | "other" with "callback_agent": username}. Every refusal is a ChoiceError whose message
says, in Spanish, what is wrong and what to do.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from common.dialer.store import Disposition
from screenpop.wrapup.settings import DispositionOption, DispositionSettings

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
MIN_LEAD = timedelta(minutes=1)


class ChoiceError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Choice:
    option: DispositionOption
    notes: str
    callback_at: datetime | None = None   # UTC
    callback_for: str | None = None       # username; None: any agent
    callback_zone: str | None = None      # the zone the agent chose the time in

    @property
    def effect(self) -> Disposition:
        return self.option.effect


def parse_choice(body: Any, settings: DispositionSettings, *, zone: ZoneInfo, now: datetime,
                 me: str) -> Choice:
    if not isinstance(body, dict):
        raise ChoiceError("bad_request", "Elija un resultado de la llamada.")
    option = settings.get(body.get("disposition")) if isinstance(body.get("disposition"), str) \
        else None
    if option is None:
        raise ChoiceError("bad_disposition", "Elija uno de los resultados de la lista.")
    notes = body.get("notes", "")
    if notes is None:
        notes = ""
    if not isinstance(notes, str):
        raise ChoiceError("bad_notes", "Las notas deben ser texto.")
    notes = _CONTROL.sub("", notes.replace("\r\n", "\n")).strip()
    if len(notes) > settings.notes_max:
        raise ChoiceError("notes_too_long", f"Las notas pasan de {settings.notes_max} "
                          f"caracteres ({len(notes)}); acórtelas y guarde de nuevo.")
    if option.effect is not Disposition.CALLBACK:
        return Choice(option, notes)
    at = local_moment(body.get("callback_date"), body.get("callback_time"), zone)
    if at < now + MIN_LEAD:
        raise ChoiceError("callback_past", "La fecha y hora de la devolución ya pasaron; elija "
                          "una posterior.")
    if at > now + timedelta(days=settings.callback_max_days):
        raise ChoiceError("callback_too_far", "La devolución puede programarse a lo más "
                          f"{settings.callback_max_days} días adelante.")
    return Choice(option, notes, at, _for_whom(body, me), zone.key)


def local_moment(day: Any, clock: Any, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local date and time in `zone`; a time the clock skips that day (a
    change to summer time, e.g. Tijuana) is refused, an hour that happens twice is its first."""
    try:
        local = datetime.combine(date.fromisoformat(day), time.fromisoformat(clock))
    except (TypeError, ValueError):
        raise ChoiceError("bad_callback_time", "Indique la fecha y la hora de la devolución "
                          "(día y hora locales).") from None
    if local.second or local.microsecond or local.tzinfo is not None:
        raise ChoiceError("bad_callback_time", "Indique la hora como HH:MM.")
    at = local.replace(tzinfo=zone).astimezone(UTC)
    if at.astimezone(zone).replace(tzinfo=None) != local:
        raise ChoiceError("callback_time_skipped", "Esa hora no existe ese día por el cambio de "
                          "horario; elija otra.")
    return at


def _for_whom(body: dict, me: str) -> str | None:
    who = body.get("callback_for", "me")
    if who == "me":
        return me
    if who == "anyone":
        return None
    agent = body.get("callback_agent")
    if who == "other" and isinstance(agent, str) and _USERNAME.fullmatch(agent.strip().lower()):
        return agent.strip().lower()
    raise ChoiceError("bad_callback_for", "Indique quién devuelve la llamada: usted, cualquier "
                      "asesor u otro asesor de la lista.")


def local_parts(at: datetime, zone: ZoneInfo) -> dict[str, str]:
    """{"date", "time", "zone"} of a UTC instant, as the page shows and edits it."""
    local = at.astimezone(zone)
    return {"date": local.date().isoformat(), "time": local.strftime("%H:%M"), "zone": zone.key}
