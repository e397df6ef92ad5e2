"""A pending WispHub preinstallation as the rest of the project sees it."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from screenpop.fields import MISSING_FIELDS


@dataclass(frozen=True)
class Preinstallation:
    id: str                      # WispHub id_servicio (numeric string)
    username: str | None         # "<local>@<empresa>" from the activation link
    name: str
    phones: tuple[str, ...]      # E.164, every valid number in the record
    phone_raw: str               # as WispHub stores it
    email: str | None
    address: str | None
    zone: str | None
    created_at: datetime | None  # aware
    missing: tuple[str, ...]     # screenpop.fields.MISSING_FIELDS keys, in display order
    activation_path: str | None  # "/preinstalacion/activar/<usuario>/<id>/"
    unknown: tuple[str, ...] = ()  # MISSING_FIELDS keys the list cannot tell (no such column)

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("a preinstallation needs its WispHub id")
        if self.created_at is not None and self.created_at.tzinfo is None:
            raise ValueError(f"created_at of preinstallation {self.id} must be timezone-aware")

    @property
    def phone(self) -> str:
        """The number to show first: the first valid one, else what WispHub stores."""
        return self.phones[0] if self.phones else self.phone_raw

    def to_pop(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "phone": self.phone,
            "phones": list(self.phones),
            "email": self.email,
            "address": self.address,
            "zone": self.zone,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "missing": list(self.missing),
            "unknown": list(self.unknown),
            "unknown_labels": [MISSING_FIELDS.get(key, key) for key in self.unknown],
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "name": self.name,
            "phones": list(self.phones),
            "phone_raw": self.phone_raw,
            "email": self.email,
            "address": self.address,
            "zone": self.zone,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "missing": list(self.missing),
            "activation_path": self.activation_path,
            "unknown": list(self.unknown),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preinstallation:
        created = data.get("created_at")
        return cls(
            id=str(data["id"]),
            username=data.get("username"),
            name=data.get("name") or "",
            phones=tuple(data.get("phones") or ()),
            phone_raw=data.get("phone_raw") or "",
            email=data.get("email"),
            address=data.get("address"),
            zone=data.get("zone"),
            created_at=datetime.fromisoformat(created) if created else None,
            missing=tuple(data.get("missing") or ()),
            activation_path=data.get("activation_path"),
            unknown=tuple(data.get("unknown") or ()),
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> Preinstallation:
        return cls.from_dict(json.loads(raw))
