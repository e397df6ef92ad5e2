"""The scorecard and sampling rules from QA_CONFIG (TOML), validated with errors that name the key."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from screenpop.script.steps import STEP_IDS


class QaConfigError(ValueError):
    """QA_CONFIG cannot be used; the message names the key."""


@dataclass(frozen=True)
class Item:
    id: str
    label: str
    weight: float
    critical: bool = False
    fatal: bool = False
    step: str | None = None  # the guided-call step it checks, when it checks one


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Sampling:
    share: float = 0.05
    new_agent_days: int = 30
    new_agent_share: float = 0.25
    activation_share: float = 0.5
    short_call_seconds: int = 60
    short_call_share: float = 0.3
    daily_claim: int = 20
    agents: tuple[tuple[str, float], ...] = ()

    def agent_share(self, username: str | None) -> float:
        return dict(self.agents).get(username or "", self.share)


@dataclass(frozen=True)
class Scorecard:
    name: str
    version: str
    pass_score: float
    sections: tuple[Section, ...]
    sampling: Sampling

    def items(self) -> list[tuple[Section, Item]]:
        return [(section, item) for section in self.sections for item in section.items]


def load_scorecard(path: Path) -> Scorecard:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise QaConfigError(f"no se pudo leer {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise QaConfigError(f"TOML inválido en {path}: {exc}") from None
    return parse_scorecard(data)


def parse_scorecard(data: dict[str, Any]) -> Scorecard:
    head = _table(data, "scorecard")
    sections_raw = data.get("sections")
    if not isinstance(sections_raw, list) or not sections_raw:
        raise QaConfigError("sections: se necesita al menos una sección ([[sections]])")
    sections, seen_items, seen_sections = [], set(), set()
    for s, raw in enumerate(sections_raw):
        where = f"sections[{s}]"
        if not isinstance(raw, dict):
            raise QaConfigError(f"{where}: debe ser una tabla")
        section_id = _ident(raw, "id", where)
        if section_id in seen_sections:
            raise QaConfigError(f"{where}.id: {section_id!r} repetido")
        seen_sections.add(section_id)
        items_raw = raw.get("items")
        if not isinstance(items_raw, list) or not items_raw:
            raise QaConfigError(f"{where}.items: se necesita al menos un criterio")
        items = []
        for i, item in enumerate(items_raw):
            item_where = f"{where}.items[{i}]"
            if not isinstance(item, dict):
                raise QaConfigError(f"{item_where}: debe ser una tabla")
            item_id = _ident(item, "id", item_where)
            if item_id in seen_items:
                raise QaConfigError(f"{item_where}.id: {item_id!r} repetido")
            seen_items.add(item_id)
            step = item.get("step")
            if step is not None and step not in STEP_IDS:
                raise QaConfigError(f"{item_where}.step: {step!r} no es un paso de la llamada "
                                    f"guiada (use uno de {', '.join(STEP_IDS)})")
            items.append(Item(id=item_id, label=_text(item, "label", item_where),
                              weight=_number(item, "weight", item_where, minimum=0.01),
                              critical=_bool(item, "critical", item_where),
                              fatal=_bool(item, "fatal", item_where), step=step))
        sections.append(Section(section_id, _text(raw, "title", where), tuple(items)))
    return Scorecard(name=_text(head, "name", "scorecard"),
                     version=_text(head, "version", "scorecard"),
                     pass_score=_number(head, "pass_score", "scorecard", maximum=100),
                     sections=tuple(sections), sampling=_sampling(data.get("sampling", {})))


def _sampling(raw: Any) -> Sampling:
    if not isinstance(raw, dict):
        raise QaConfigError("sampling: debe ser una tabla")
    defaults = Sampling()
    values: dict[str, Any] = {}
    for key in ("share", "new_agent_share", "activation_share", "short_call_share"):
        values[key] = _number(raw, key, "sampling", maximum=1, default=getattr(defaults, key))
    for key in ("new_agent_days", "short_call_seconds", "daily_claim"):
        values[key] = int(_number(raw, key, "sampling", default=getattr(defaults, key),
                                  integer=True))
    agents = raw.get("agents", {})
    if not isinstance(agents, dict):
        raise QaConfigError("sampling.agents: debe ser una tabla usuario = fracción")
    values["agents"] = tuple((name, _number(agents, name, "sampling.agents", maximum=1))
                             for name in agents)
    return Sampling(**values)


def _table(data: dict, key: str) -> dict:
    value = data.get(key)
    if not isinstance(value, dict):
        raise QaConfigError(f"{key}: falta la tabla [{key}]")
    return value


def _text(data: dict, key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise QaConfigError(f"{where}.{key}: se necesita un texto")
    return value.strip()


def _ident(data: dict, key: str, where: str) -> str:
    value = _text(data, key, where)
    if not value.replace("_", "").replace("-", "").isalnum() or len(value) > 40:
        raise QaConfigError(f"{where}.{key}: {value!r} debe ser letras, dígitos, _ o - "
                            "(hasta 40)")
    return value


def _bool(data: dict, key: str, where: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise QaConfigError(f"{where}.{key}: debe ser true o false")
    return value


def _number(data: dict, key: str, where: str, *, minimum: float = 0.0, maximum: float | None = None,
            default: float | None = None, integer: bool = False) -> float:
    value = data.get(key, default)
    if value is None:
        raise QaConfigError(f"{where}.{key}: falta el valor")
    if isinstance(value, bool) or not isinstance(value, int | float) or \
            (integer and not isinstance(value, int)):
        raise QaConfigError(f"{where}.{key}: debe ser un número{' entero' if integer else ''}")
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"entre {minimum:g} y {maximum:g}" if maximum is not None else f"≥ {minimum:g}"
        raise QaConfigError(f"{where}.{key}: debe estar {bounds}, es {value}")
    return float(value)
