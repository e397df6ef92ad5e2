"""The provider configuration (TOML, `PROVIDER_CONFIG`): read, validated and its script texts
compiled and rendered once with sample data, so every mistake stops start-up with its key path.
Every key is documented in docs/provider-config.md."""
from __future__ import annotations

import itertools
import re
import tomllib
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import TemplateError, UndefinedError

from screenpop.script.context import build_context
from screenpop.script.model import (
    TECHNOLOGIES,
    TIERS,
    Addon,
    InstallWindow,
    Objection,
    Plan,
    Promotion,
    ProviderConfig,
    ProviderConfigError,
    ScriptStep,
    Zone,
)
from screenpop.script.money import quote
from screenpop.script.paths import default_provider_config_path
from screenpop.script.reader import Table
from screenpop.script.steps import STEP_IDS
from screenpop.script.templates import ScriptTemplates, TemplateSourceError
from screenpop.wisphub.models import Preinstallation

__all__ = ["ProviderConfig", "ProviderConfigError", "default_provider_config_path",
           "load_provider_config", "parse_provider_config"]

_IDENTIFIER = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_OBJECTION_KEY = re.compile(r"^[0-9a-z]$")


def load_provider_config(path: str | Path) -> ProviderConfig:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ProviderConfigError(f"PROVIDER_CONFIG: no se puede leer {str(path)!r} ({exc.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProviderConfigError(f"PROVIDER_CONFIG: {str(path)!r} no es TOML válido: {exc}") from None
    return parse_provider_config(data)


def parse_provider_config(data: dict[str, Any]) -> ProviderConfig:
    root = Table(data)
    provider = root.table("provider")
    name = provider.text("name")
    currency = provider.choice("currency", ("MXN",), "MXN")
    tz_name = provider.text("timezone", "America/Mexico_City")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise provider.error("timezone", f"zona horaria desconocida {tz_name!r}") from None
    provider.finish()

    installation = root.table("installation")
    installation_cost = installation.amount("cost", allow_zero=True)
    first_month_due_today = installation.flag("first_month_due_today", True)
    fibre_cut_note = installation.text("fibre_cut_note")
    installation.finish()

    deposit_table = root.table("deposit")
    deposit = deposit_table.amount("amount", allow_zero=True)
    deposit_when_free = deposit_table.flag("charge_when_installation_free", True)
    refund_conditions = deposit_table.texts("refund_conditions")
    if deposit > installation_cost:
        raise deposit_table.error("amount", "no puede ser mayor que installation.cost (en "
                                            "contrato indefinido la garantía sale de la instalación)")
    deposit_table.finish()

    contract = root.table("contract")
    contract_months = contract.whole("months", 12)
    contract_clause = contract.text("clause")
    contract.finish()

    promotions = tuple(_promotion(t) for t in _unique(root.tables("promotions", allow_empty=True)))
    plans = tuple(_plan(t) for t in _unique(root.tables("plans")))
    addons = tuple(_addon(t) for t in _unique(root.tables("addons", allow_empty=True)))
    objection_tables = _unique(root.tables("objections", allow_empty=True))
    objections = tuple(_objection(t) for t in objection_tables)
    _unique_keys(objection_tables, objections)
    zones = tuple(_zone(t) for t in _unique(root.tables("zones")))
    windows = tuple(_window(t) for t in _unique(root.tables("install_windows")))
    script = _script(root.table("script"))
    root.finish()

    for index, zone in enumerate(zones):
        for technology in zone.technologies:
            if not any(p.technology == technology for p in plans):
                raise ProviderConfigError(f"zones[{index}].technologies: ofrece {technology!r} "
                                          f"pero no hay ningún plan con technology = {technology!r}")

    sources = {f"script.{step}.{kind}[{i}]": line
               for step, texts in script.items()
               for kind in ("say", "say_outbound")
               for i, line in enumerate(getattr(texts, kind))}
    sources.update({f"objections[{i}].answer": o.answer for i, o in enumerate(objections)})
    try:
        templates = ScriptTemplates(sources)
    except TemplateSourceError as exc:
        raise ProviderConfigError(str(exc)) from None
    config = ProviderConfig(
        name=name, currency=currency, tz=tz, installation_cost=installation_cost,
        first_month_due_today=first_month_due_today, fibre_cut_note=fibre_cut_note,
        deposit=deposit, deposit_when_installation_free=deposit_when_free,
        refund_conditions=refund_conditions, contract_months=contract_months,
        contract_clause=contract_clause, promotions=promotions, plans=plans, addons=addons,
        objections=objections, zones=zones, install_windows=windows, script=script,
        templates=templates)
    _render_samples(config)
    return config


def _identifier(table: Table) -> str:
    value = table.text("id")
    if not _IDENTIFIER.match(value):
        raise table.error("id", f"{value!r} no es un identificador válido (minúsculas, dígitos, "
                                "- y _, hasta 64 caracteres)")
    return value


def _unique(tables: list[Table]) -> list[Table]:
    seen: dict[str, str] = {}
    for table in tables:
        value = _identifier(table)
        if value in seen:
            raise table.error("id", f"id repetido {value!r} (ya usado en {seen[value]})")
        seen[value] = table.path("id").rsplit(".", 1)[0]
    return tables


def _unique_keys(tables: list[Table], objections: tuple[Objection, ...]) -> None:
    seen: dict[str, str] = {}
    for table, objection in zip(tables, objections):
        if objection.key in seen:
            raise table.error("key", f"la tecla {objection.key!r} ya la usa {seen[objection.key]}")
        seen[objection.key] = table.path("key").rsplit(".", 1)[0]


def _promotion(t: Table) -> Promotion:
    promotion = Promotion(id=_identifier(t), name=t.text("name"),
                          free_installation=t.flag("free_installation"), starts=t.day("starts"),
                          ends=t.day("ends"), technologies=t.choices("technologies", TECHNOLOGIES))
    if promotion.ends < promotion.starts:
        raise t.error("ends", f"la promoción termina ({promotion.ends.isoformat()}) antes de "
                              f"empezar ({promotion.starts.isoformat()})")
    t.finish()
    return promotion


def _plan(t: Table) -> Plan:
    plan = Plan(id=_identifier(t), name=t.text("name"), tier=t.choice("tier", TIERS),
                speed_mbps=t.whole("speed_mbps"), price=t.amount("price"),
                technology=t.choice("technology", TECHNOLOGIES))
    t.finish()
    return plan


def _addon(t: Table) -> Addon:
    addon = Addon(id=_identifier(t), name=t.text("name"), price=t.amount("price"),
                  technologies=t.choices("technologies", TECHNOLOGIES))
    t.finish()
    return addon


def _objection(t: Table) -> Objection:
    key = t.text("key").lower()
    if not _OBJECTION_KEY.match(key):
        raise t.error("key", f"debe ser una sola tecla, un dígito o una letra (se recibió {key!r})")
    objection = Objection(id=_identifier(t), label=t.text("label"), key=key, answer=t.text("answer"))
    t.finish()
    return objection


def _zone(t: Table) -> Zone:
    zone = Zone(id=_identifier(t), name=t.text("name"),
                technologies=t.choices("technologies", TECHNOLOGIES))
    t.finish()
    return zone


def _window(t: Table) -> InstallWindow:
    window = InstallWindow(id=_identifier(t), label=t.text("label"), starts=t.clock("starts"),
                           ends=t.clock("ends"))
    if window.ends <= window.starts:
        raise t.error("ends", f"el horario termina ({window.ends:%H:%M}) antes de empezar "
                              f"({window.starts:%H:%M})")
    t.finish()
    return window


def _script(table: Table) -> dict[str, ScriptStep]:
    steps: dict[str, ScriptStep] = {}
    for step in STEP_IDS:
        section = table.table(step)
        steps[step] = ScriptStep(title=section.text("title"), say=section.texts("say"),
                                 say_outbound=section.texts("say_outbound", [], allow_empty=True))
        section.finish()
    for key in table.keys():
        if key not in STEP_IDS:
            raise table.error(key, f"paso desconocido; pasos válidos: {', '.join(STEP_IDS)}")
    return steps


_SAMPLE_RECORD = Preinstallation(
    id="1", username=None, name="María <b>López</b> & Hijos", phones=("+525512345678",),
    phone_raw="55 1234 5678", email=None, address=None, zone=None, created_at=None,
    missing=("email",), activation_path=None)


def _sample_answers(config: ProviderConfig) -> list[tuple[dict[str, Any], date]]:
    """Blank, and for each technology a full call under 12 months and open-ended."""
    promo_day = config.promotions[0].starts if config.promotions else date(2025, 1, 1)
    no_promo_day = min([p.starts for p in config.promotions], default=promo_day) - timedelta(days=1)
    samples: list[tuple[dict[str, Any], date]] = [({}, no_promo_day)]
    for technology in TECHNOLOGIES:
        zone = next((z for z in config.zones if technology in z.technologies), None)
        plans = config.plans_for(technology)
        if zone is None or not plans:
            continue
        full = {"address": "Calle <i>5</i>", "zone": zone.id, "coverage": True,
                "technology": technology, "wants_to_continue": True, "usage_profile": plans[0].tier,
                "plan_id": plans[0].id, "addons": [a.id for a in config.addons_for(technology)],
                "first_name": "Ana", "last_name": "Ruiz", "building": True,
                "install_date": promo_day.isoformat(), "install_window": config.install_windows[0].id}
        samples.append(({**full, "contract": "12m"}, promo_day))
        samples.append(({**full, "contract": "open", "building": False, "coverage": False,
                         "wants_to_continue": False}, no_promo_day))
    return samples


def _render_samples(config: ProviderConfig) -> None:
    for answers, today in _sample_answers(config):
        now = datetime(today.year, today.month, today.day, 10, tzinfo=config.tz)
        for record, outbound in itertools.product((_SAMPLE_RECORD, None), (False, True)):
            context = build_context(config, record=record, agent_name="Asesor de prueba",
                                    answers=answers, now=now, quote=quote(config, answers, today),
                                    outbound=outbound)
            for path in config.templates.paths:
                try:
                    config.templates.render(path, context)
                except UndefinedError as exc:
                    raise ProviderConfigError(
                        f"{path}: la plantilla usa una variable que no existe o que aún no "
                        f"tiene valor ({exc.message}); variables: {', '.join(sorted(context))}. "
                        "Use {% if … %} para lo que el asesor aún no ha capturado") from None
                except TemplateError as exc:
                    raise ProviderConfigError(f"{path}: la plantilla falla al generarse "
                                              f"({exc})") from None
