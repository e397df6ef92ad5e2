"""The configured dispositions (DISPOSITIONS_CONFIG, a TOML file; the shipped default is
dispositions.default.toml beside this module), validated when loaded: a bad file stops start-up
with the key at fault named."""
from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.dialer.store import Disposition
from common.settings import ConfigError

DEFAULT_PATH = Path(__file__).resolve().parent / "dispositions.default.toml"
_ID = re.compile(r"[a-z0-9_]{1,40}")
MAX_DISPOSITIONS = 30


@dataclass(frozen=True)
class DispositionOption:
    id: str
    label: str
    effect: Disposition

    def public(self, position: int) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "effect": str(self.effect),
                "key": str(position + 1) if position < 9 else None}


@dataclass(frozen=True)
class DispositionSettings:
    options: tuple[DispositionOption, ...]
    notes_max: int = 1000
    callback_max_days: int = 90

    def get(self, disposition_id: str) -> DispositionOption | None:
        return next((o for o in self.options if o.id == disposition_id), None)

    def public(self) -> dict[str, Any]:
        return {"options": [o.public(i) for i, o in enumerate(self.options)],
                "notes_max": self.notes_max, "callback_max_days": self.callback_max_days}

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DispositionSettings:
        return cls.from_file(env.get("DISPOSITIONS_CONFIG", "").strip() or DEFAULT_PATH)

    @classmethod
    def from_file(cls, path: str | Path) -> DispositionSettings:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"DISPOSITIONS_CONFIG: no se pudo leer {path}: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"DISPOSITIONS_CONFIG: {path} no es TOML válido: {exc}") from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DispositionSettings:
        notes_max = _int(data, "notes_max", 1000, 1, 10_000)
        max_days = _int(data, "callback_max_days", 90, 1, 366)
        raw = data.get("disposition")
        if not isinstance(raw, list) or not raw:
            raise ConfigError("DISPOSITIONS_CONFIG: falta la lista [[disposition]]")
        if len(raw) > MAX_DISPOSITIONS:
            raise ConfigError(f"DISPOSITIONS_CONFIG: a lo más {MAX_DISPOSITIONS} resultados")
        options: list[DispositionOption] = []
        for n, item in enumerate(raw, 1):
            where = f"DISPOSITIONS_CONFIG: disposition #{n}"
            if not isinstance(item, dict):
                raise ConfigError(f"{where} debe ser una tabla")
            ident, label, effect = item.get("id"), item.get("label"), item.get("effect")
            if not isinstance(ident, str) or not _ID.fullmatch(ident):
                raise ConfigError(f"{where}.id: minúsculas, dígitos o _ (hasta 40)")
            if any(o.id == ident for o in options):
                raise ConfigError(f"{where}.id: {ident!r} está repetido")
            if not isinstance(label, str) or not 0 < len(label.strip()) <= 60:
                raise ConfigError(f"{where}.label: texto de 1 a 60 caracteres")
            if effect not in {str(e) for e in Disposition}:
                raise ConfigError(f"{where}.effect: final, retry o callback")
            options.append(DispositionOption(ident, label.strip(), Disposition(effect)))
        return cls(tuple(options), notes_max, max_days)


def _int(data: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = data.get(key, default)
    if type(value) is not int or not low <= value <= high:
        raise ConfigError(f"DISPOSITIONS_CONFIG: {key} debe ser un entero de {low} a {high}")
    return value
