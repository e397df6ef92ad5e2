"""The campaign form (pure): form fields → a campaign's settings, with a Spanish error next to
each field that cannot be used, and a stored campaign → the form's values for editing.

Settings stored in `dialer_campaigns.settings` (read by the dialer engine too):
`windows` ({"hours": {"mon": "09:00-19:00", …}, "holidays": bool, "closed_dates": [ISO]}),
`retry_minutes` (outcome → minutes), `abandon_cap` (fraction, default 0.03), `amd` (bool),
`time_zone` (IANA, for records whose state is unknown), `filter` (the records it was built from).
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time

from common.dialer.outcomes import Order, Outcome
from common.dialer.schedule import DEFAULT_DELAYS
from common.dialer.store import Campaign, Mode
from common.dialer.windows import WEEKDAYS
from common.dialer.zones import UnknownZone, zone_named
from screenpop.campaigns.filters import RecordFilter, parse_filter

MODE_LABELS = {"preview": "Vista previa", "progressive": "Progresivo",
               "predictive": "Predictivo"}
ORDER_LABELS = {"agent_first": "Agente primero", "customer_first": "Cliente primero"}
WEEKDAY_LABELS = {"mon": "Lunes", "tue": "Martes", "wed": "Miércoles", "thu": "Jueves",
                  "fri": "Viernes", "sat": "Sábado", "sun": "Domingo"}
DEFAULT_HOURS = {**dict.fromkeys(WEEKDAYS[:5], ("09:00", "19:00")), "sat": ("09:00", "14:00")}
# the outcomes whose retry delay the supervisor sets, with their labels
RETRY_OUTCOMES = {
    Outcome.NO_ANSWER: "No contesta",
    Outcome.BUSY: "Ocupado",
    Outcome.FAILED: "Congestión / falla de red",
    Outcome.MACHINE: "Buzón / contestadora",
    Outcome.AGENT_REJECTED: "El asesor no tomó la llamada",
    Outcome.ABANDONED: "Abandonada (sin asesor)",
    Outcome.SKIPPED: "Saltada en vista previa",
}
DEFAULT_ABANDON_CAP_PERCENT = 3.0
MAX_ATTEMPTS_LIMIT = 20
MAX_RETRY_MINUTES = 60 * 24 * 30
_CALLER_ID = re.compile(r"\+?[0-9]{3,20}")
_USERNAME = re.compile(r"[a-z0-9._-]{1,64}")


@dataclass
class CampaignForm:
    """What a submitted form says: the campaign (without its id) and the record filter, or the
    errors by field name."""

    values: dict[str, object]
    errors: dict[str, str] = field(default_factory=dict)
    name: str = ""
    mode: Mode = Mode.PROGRESSIVE
    order: Order = Order.AGENT_FIRST
    caller_id: str | None = None
    queue: str | None = None
    agents: tuple[str, ...] = ()
    max_attempts: int = 5
    settings: dict[str, object] = field(default_factory=dict)
    record_filter: RecordFilter = field(default_factory=RecordFilter)

    @property
    def ok(self) -> bool:
        return not self.errors

    def campaign(self, campaign_id: str) -> Campaign:
        return Campaign(campaign_id, self.name, self.mode, self.order, self.max_attempts,
                        {**self.settings, "filter": self.record_filter.to_dict()},
                        self.caller_id, self.queue, self.agents)


def blank_values(default_zone: str) -> dict[str, object]:
    """The form of a new campaign: the defaults the issue asks for."""
    values: dict[str, object] = {
        "name": "", "mode": "progressive", "call_order": "agent_first", "caller_id": "",
        "queue": "", "agents": [], "max_attempts": "5", "holidays": True, "amd": False,
        "abandon_cap": _percent(DEFAULT_ABANDON_CAP_PERCENT), "time_zone": default_zone,
        "closed_dates": "", "f_missing": [], "f_zone": "", "f_min_age": "", "f_max_age": "",
        "f_never": False, "f_disposition": ""}
    for day in WEEKDAYS:
        start, end = DEFAULT_HOURS.get(day, ("09:00", "14:00"))
        values.update({f"open_{day}": day in DEFAULT_HOURS, f"from_{day}": start,
                       f"to_{day}": end})
    for outcome in RETRY_OUTCOMES:
        values[f"retry_{outcome}"] = str(int(DEFAULT_DELAYS[outcome].total_seconds() // 60))
    return values


def values_of(campaign: Campaign, default_zone: str) -> dict[str, object]:
    """A stored campaign as form values, for editing it."""
    values = blank_values(default_zone)
    settings = campaign.settings
    windows = settings.get("windows") or {}
    values.update(name=campaign.name, mode=str(campaign.mode),
                  call_order=str(campaign.call_order), caller_id=campaign.caller_id or "",
                  queue=campaign.queue or "", agents=list(campaign.agents),
                  max_attempts=str(campaign.max_attempts),
                  holidays=bool(windows.get("holidays", True)), amd=bool(settings.get("amd")),
                  abandon_cap=_percent(float(settings.get("abandon_cap", 0.03)) * 100),
                  time_zone=settings.get("time_zone") or default_zone,
                  closed_dates=", ".join(windows.get("closed_dates") or ()))
    if "hours" in windows:
        for day in WEEKDAYS:
            span = windows["hours"].get(day)
            values[f"open_{day}"] = span is not None
            if span:
                values[f"from_{day}"], values[f"to_{day}"] = span.split("-")
    for name, minutes in (settings.get("retry_minutes") or {}).items():
        values[f"retry_{name}"] = _number(minutes)
    flt = RecordFilter.from_dict(settings.get("filter") or {})
    values.update(f_missing=list(flt.missing), f_zone=flt.zone or "",
                  f_min_age="" if flt.min_age_days is None else str(flt.min_age_days),
                  f_max_age="" if flt.max_age_days is None else str(flt.max_age_days),
                  f_never=flt.never_contacted, f_disposition=flt.last_disposition or "")
    return values


def parse_form(form: Mapping[str, str], multi: Mapping[str, Sequence[str]], *,
               known_agents: Sequence[str], default_zone: str) -> CampaignForm:
    """`form`: one value per field; `multi`: the repeated fields (agents, f_missing)."""
    values = blank_values(default_zone)
    values.update({k: v for k, v in form.items() if k in values and isinstance(v, str)})
    for box in ("holidays", "amd", "f_never", *(f"open_{d}" for d in WEEKDAYS)):
        values[box] = form.get(box) in ("1", "on", "true")
    values["agents"] = list(dict.fromkeys(multi.get("agents", ())))
    values["f_missing"] = list(multi.get("f_missing", ()))
    parsed = CampaignForm(values)
    errors = parsed.errors

    parsed.name = " ".join(str(values["name"]).split())
    if not parsed.name:
        errors["name"] = "Escriba un nombre para la campaña."
    elif len(parsed.name) > 120:
        errors["name"] = "El nombre puede tener como máximo 120 caracteres."
    try:
        parsed.mode = Mode(str(values["mode"]))
    except ValueError:
        errors["mode"] = "Elija vista previa, progresivo o predictivo."
    try:
        parsed.order = Order(str(values["call_order"]))
    except ValueError:
        errors["call_order"] = "Elija agente primero o cliente primero."
    caller_id = "".join(str(values["caller_id"]).split()).replace("-", "")
    if caller_id and not _CALLER_ID.fullmatch(caller_id):
        errors["caller_id"] = "El identificador de llamada debe ser un número (solo dígitos, " \
                              "con + opcional)."
    parsed.caller_id = caller_id or None
    queue = str(values["queue"]).strip()
    if queue and not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", queue):
        errors["queue"] = "La cola solo admite letras, números, punto, guion y guion bajo."
    parsed.queue = queue or None
    agents = [str(a).strip().lower() for a in values["agents"]]
    unknown = [a for a in agents if a not in known_agents or not _USERNAME.fullmatch(a)]
    if unknown:
        errors["agents"] = f"Estas cuentas no son asesores: {', '.join(unknown)}."
    elif not agents and not parsed.queue:
        errors["agents"] = "Elija al menos un asesor o escriba la cola que atiende la campaña."
    parsed.agents = tuple(agents)
    raw_attempts = str(values["max_attempts"]).strip()
    if not raw_attempts.isdigit() or not 1 <= int(raw_attempts) <= MAX_ATTEMPTS_LIMIT:
        errors["max_attempts"] = f"Escriba un número de intentos entre 1 y {MAX_ATTEMPTS_LIMIT}."
    else:
        parsed.max_attempts = int(raw_attempts)

    settings: dict[str, object] = {}
    hours: dict[str, str] = {}
    for day in WEEKDAYS:
        if not values[f"open_{day}"]:
            continue
        start, end = _clock(values[f"from_{day}"]), _clock(values[f"to_{day}"])
        if start is None or end is None:
            errors[f"hours_{day}"] = "Escriba las horas como HH:MM (por ejemplo 09:00)."
        elif start >= end:
            errors[f"hours_{day}"] = "La hora de cierre debe ser posterior a la de inicio."
        else:
            hours[day] = f"{start:%H:%M}-{end:%H:%M}"
    if not hours and not any(k.startswith("hours_") for k in errors):
        errors["hours"] = "Abra al menos un día de la semana para llamar."
    closed, bad = _dates(str(values["closed_dates"]))
    if bad:
        errors["closed_dates"] = f"Fechas no válidas: {', '.join(bad)} (use AAAA-MM-DD o " \
                                 "DD/MM/AAAA)."
    settings["windows"] = {"hours": hours, "holidays": bool(values["holidays"]),
                           "closed_dates": closed}
    retry: dict[str, float] = {}
    for outcome in RETRY_OUTCOMES:
        raw = str(values[f"retry_{outcome}"]).strip().replace(",", ".")
        try:
            minutes = float(raw)
        except ValueError:
            minutes = -1.0
        if not 0 <= minutes <= MAX_RETRY_MINUTES:
            errors[f"retry_{outcome}"] = f"Escriba minutos entre 0 y {MAX_RETRY_MINUTES}."
        else:
            retry[str(outcome)] = int(minutes) if minutes.is_integer() else minutes
    settings["retry_minutes"] = retry
    try:
        cap = float(str(values["abandon_cap"]).replace(",", ".").rstrip("% "))
    except ValueError:
        cap = -1.0
    if not 0 < cap <= 10:
        errors["abandon_cap"] = "El tope de abandono debe ser un porcentaje mayor que 0 y " \
                                "hasta 10 (la norma pide 3 %)."
    else:
        settings["abandon_cap"] = round(cap / 100, 6)
    settings["amd"] = bool(values["amd"])
    zone = str(values["time_zone"]).strip()
    try:
        settings["time_zone"] = zone_named(zone).key
    except UnknownZone:
        errors["time_zone"] = f"Zona horaria desconocida: {zone!r}. Use un nombre IANA como " \
                              "America/Mexico_City."
    parsed.settings = settings
    parsed.record_filter, filter_errors = parse_filter(
        {k: str(values[k]) for k in ("f_zone", "f_min_age", "f_max_age", "f_disposition")}
        | {"f_never": "1" if values["f_never"] else ""}, values["f_missing"])
    errors.update(filter_errors)
    return parsed


def _clock(text: object) -> time | None:
    try:
        return time.fromisoformat(str(text).strip())
    except ValueError:
        return None


def _dates(text: str) -> tuple[list[str], list[str]]:
    good, bad = [], []
    for item in re.split(r"[\s,;]+", text.strip()):
        if not item:
            continue
        try:
            day = date.fromisoformat(item) if "-" in item else \
                datetime.strptime(item, "%d/%m/%Y").date()
        except ValueError:
            bad.append(item[:20])
            continue
        good.append(day.isoformat())
    return sorted(set(good)), bad


def _percent(value: float) -> str:
    return _number(round(value, 4))


def _number(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
