"""From what WispHub shows about one pending preinstallation to a Preinstallation (pure)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from common.phones import all_e164
from screenpop.fields import DOCUMENTS, MISSING_FIELDS, missing_fields
from screenpop.wisphub.models import Preinstallation

ACTIVATION_LINK = re.compile(r"/preinstalacion/activar/(?P<username>[^/?#]+)/(?P<id>\d+)/?")
_DATE_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S",
                 "%Y-%m-%d %H:%M", "%Y-%m-%d")


@dataclass(frozen=True)
class PanelRow:
    """One row of the panel's pending list; None = the page has no such column."""
    id: str
    username: str | None
    activation_path: str
    name: str
    phone: str
    email: str | None = None
    address: str | None = None
    locality: str | None = None
    city: str | None = None
    zone: str | None = None
    coordinates: str | None = None
    comments: str | None = None
    documents: frozenset[str] = field(default_factory=frozenset)
    registered: str | None = None
    absent: frozenset[str] = field(default_factory=frozenset)  # optional columns the page lacks


def parse_wisphub_datetime(text: str | None, tz: tzinfo) -> datetime | None:
    """WispHub's mixed date formats (tenant-local `DD/MM/YYYY HH:MM[:SS]`, ISO with offset)."""
    if not text or not text.strip():
        return None
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
        for fmt in _DATE_FORMATS:
            try:
                parsed = datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split())
    return text or None


# what the pop cannot know when the list has no such column: shown as "desconocido", not missing
UNKNOWN_WITHOUT = {"documents": DOCUMENTS, "email": ("email",), "address": ("address",),
                   "coordinates": ("location",), "comments": ("referral", "housing")}


def build_preinstallation(row: PanelRow, tz: tzinfo) -> Preinstallation:
    phones = tuple(all_e164(row.phone))
    unknown = tuple(key for key in MISSING_FIELDS
                    if any(key in UNKNOWN_WITHOUT.get(column, ()) for column in row.absent))
    place = ", ".join(p for p in (_clean(row.locality), _clean(row.city)) if p)
    return Preinstallation(
        id=row.id,
        username=row.username,
        name=_clean(row.name) or "",
        phones=phones,
        phone_raw=(row.phone or "").strip(),
        email=_clean(row.email),
        address=_clean(row.address),
        zone=_clean(row.zone) or place or None,
        created_at=parse_wisphub_datetime(row.registered, tz),
        missing=tuple(key for key in missing_fields(
            phones=phones, extra_phone=None, email=row.email, address=row.address,
            coordinates=row.coordinates, comments=row.comments, documents=row.documents)
            if key not in unknown),
        activation_path=row.activation_path,
        unknown=unknown,
    )
