"""Which pending preinstallations a campaign calls (pure): missing documents, WispHub zone,
age, never contacted, last disposition. The index gives the records; PostgreSQL tells who was
contacted and each record's last disposition (common.dialer.campaigns.Contact).
"""
from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from common.dialer.campaigns import Contact
from common.dialer.store import NewLead
from common.dialer.zones import UnknownZone, zone_for
from screenpop.fields import DOCUMENTS, MISSING_FIELDS
from screenpop.wisphub.models import Preinstallation

# the filter's "last disposition" choice for records no call ever gave one
NO_DISPOSITION = "(ninguno)"
MAX_AGE_DAYS = 3650


@dataclass(frozen=True)
class RecordFilter:
    missing: tuple[str, ...] = ()        # records missing at least one of these documents
    zone: str | None = None              # WispHub zone (or state) exactly, case-insensitive
    min_age_days: int | None = None      # created at least this many days ago
    max_age_days: int | None = None      # created at most this many days ago
    never_contacted: bool = False
    last_disposition: str | None = None  # NO_DISPOSITION: none yet

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> RecordFilter:
        return cls(missing=tuple(str(m) for m in data.get("missing") or ()),
                   zone=data.get("zone") or None, min_age_days=data.get("min_age_days"),
                   max_age_days=data.get("max_age_days"),
                   never_contacted=bool(data.get("never_contacted")),
                   last_disposition=data.get("last_disposition") or None)

    @property
    def needs_contacts(self) -> bool:
        return self.never_contacted or self.last_disposition is not None


def parse_filter(values: Mapping[str, str], missing: Sequence[str]) -> tuple[RecordFilter,
                                                                              dict[str, str]]:
    """From form fields (f_zone, f_min_age, f_max_age, f_never, f_disposition) and the chosen
    missing documents; returns the filter and Spanish errors by field name."""
    errors: dict[str, str] = {}
    unknown = [m for m in missing if m not in MISSING_FIELDS]
    if unknown:
        errors["f_missing"] = f"Documento desconocido: {', '.join(unknown)}."
    ages = {}
    for name in ("f_min_age", "f_max_age"):
        raw = (values.get(name) or "").strip()
        if not raw:
            ages[name] = None
        elif not raw.isdigit() or int(raw) > MAX_AGE_DAYS:
            errors[name] = f"Escriba un número de días entre 0 y {MAX_AGE_DAYS}."
        else:
            ages[name] = int(raw)
    if ages.get("f_min_age") is not None and ages.get("f_max_age") is not None \
            and ages["f_min_age"] > ages["f_max_age"]:
        errors["f_max_age"] = "La antigüedad máxima debe ser mayor o igual que la mínima."
    flt = RecordFilter(
        missing=tuple(dict.fromkeys(m for m in missing if m in MISSING_FIELDS)),
        zone=(values.get("f_zone") or "").strip() or None,
        min_age_days=ages.get("f_min_age"), max_age_days=ages.get("f_max_age"),
        never_contacted=(values.get("f_never") or "") in ("1", "on", "true"),
        last_disposition=(values.get("f_disposition") or "").strip() or None)
    return flt, errors


def pending(records: Sequence[Preinstallation],
            installed: Collection[str]) -> list[Preinstallation]:
    """The index's records that are still pending preinstallations."""
    return [r for r in records if r.id not in installed]


def matches(record: Preinstallation, flt: RecordFilter, now: datetime) -> bool:
    """The record-only part of the filter (no contact history)."""
    if flt.missing and not set(flt.missing) & set(record.missing):
        return False
    if flt.zone is not None and (record.zone or "").casefold() != flt.zone.casefold():
        return False
    if flt.min_age_days is not None or flt.max_age_days is not None:
        if record.created_at is None:
            return False
        days = (now - record.created_at).days   # whole days since it was created
        if flt.min_age_days is not None and days < flt.min_age_days:
            return False
        if flt.max_age_days is not None and days > flt.max_age_days:
            return False
    return True


def select(records: Sequence[Preinstallation], flt: RecordFilter, now: datetime,
           contacts: Mapping[str, Contact] | None = None) -> list[Preinstallation]:
    """The records the filter picks; `contacts` (by record id) is needed when the filter
    asks about contact history (a record absent from it was never called)."""
    chosen = [r for r in records if matches(r, flt, now)]
    if not flt.needs_contacts:
        return chosen
    contacts = contacts or {}
    kept = []
    for record in chosen:
        contact = contacts.get(record.id, Contact())
        if flt.never_contacted and contact.contacted:
            continue
        if flt.last_disposition is not None:
            wanted = None if flt.last_disposition == NO_DISPOSITION else flt.last_disposition
            if contact.last_disposition != wanted:
                continue
        kept.append(record)
    return kept


def describe(flt: RecordFilter) -> str:
    """The filter in words (Spanish), for the campaign's page."""
    parts = []
    if flt.missing:
        parts.append("les falta " + " o ".join(MISSING_FIELDS.get(m, m) for m in flt.missing))
    if flt.zone:
        parts.append(f"zona {flt.zone}")
    if flt.min_age_days is not None:
        parts.append(f"de {flt.min_age_days} días o más")
    if flt.max_age_days is not None:
        parts.append(f"de {flt.max_age_days} días o menos")
    if flt.never_contacted:
        parts.append("nunca contactados")
    if flt.last_disposition == NO_DISPOSITION:
        parts.append("sin resultado todavía")
    elif flt.last_disposition:
        parts.append(f"último resultado «{flt.last_disposition}»")
    return "; ".join(parts) or "todas las preinstalaciones pendientes"


def zones_of(records: Sequence[Preinstallation]) -> list[str]:
    """The zones the records name, for the filter's choices."""
    return sorted({r.zone for r in records if r.zone}, key=str.casefold)


def document_choices() -> list[tuple[str, str]]:
    return [(key, MISSING_FIELDS[key]) for key in DOCUMENTS]


def state_of(record: Preinstallation) -> str | None:
    """The Mexican state a record names, for its time zone: its WispHub zone when that is a
    state, else the last part of its address that is one."""
    candidates = [record.zone, *reversed((record.address or "").split(","))]
    for candidate in candidates:
        if not candidate or not candidate.strip():
            continue
        try:
            zone_for(explicit=None, state=candidate, default="")
        except UnknownZone:
            continue  # not a state's name: the empty default was reached
        return candidate.strip()
    return None


def new_lead(record: Preinstallation) -> NewLead:
    return NewLead(record.id, record.phone, state=state_of(record))

