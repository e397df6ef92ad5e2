"""The variables every script template can use (documented in docs/provider-config.md).

Every variable is always defined; what the agent has not captured yet is "" (text), None
(objects: `plan`, `promocion`, `recomendado`) or an empty list, so templates guard with `{% if %}`.
Amounts are preformatted text ("$1,200.00 MXN").
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from screenpop.script.answers import CONTRACT_LABELS, TECHNOLOGY_LABELS, TIER_LABELS
from screenpop.script.greeting import FAREWELLS, GREETINGS, part_of_day
from screenpop.script.model import Plan, ProviderConfig
from screenpop.script.money import Quote, format_money
from screenpop.wisphub.models import Preinstallation

MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
          "septiembre", "octubre", "noviembre", "diciembre")
TIER_NAMES = {"basico": "Básico", "intermedio": "Intermedio", "alto": "Alto rendimiento"}


def spanish_date(day: date) -> str:
    return f"{day.day} de {MONTHS[day.month - 1]} de {day.year}"


def customer_name(record: Preinstallation | None, answers: Mapping[str, Any]) -> str:
    captured = " ".join(str(answers.get(k) or "") for k in ("first_name", "last_name")).strip()
    return captured or (record.name.strip() if record else "")


def recommended_plan(config: ProviderConfig, answers: Mapping[str, Any]) -> Plan | None:
    """The cheapest plan of the chosen technology in the tier of the customer's usage."""
    candidates = [p for p in config.plans_for(answers.get("technology"))
                  if p.tier == answers.get("usage_profile")]
    return min(candidates, key=lambda p: (p.price, p.speed_mbps), default=None)


def plan_vars(config: ProviderConfig, plan: Plan, recommended: Plan | None) -> dict[str, Any]:
    return {"id": plan.id, "nombre": plan.name, "velocidad": f"{plan.speed_mbps} Mbps",
            "precio": format_money(plan.price, config.currency), "nivel": TIER_NAMES[plan.tier],
            "recomendado": recommended is not None and plan.id == recommended.id}


def build_context(config: ProviderConfig, *, record: Preinstallation | None, agent_name: str,
                  answers: Mapping[str, Any], now: datetime, quote: Quote,
                  outbound: bool = False) -> dict[str, Any]:
    part = part_of_day(now, config.tz)
    technology = answers.get("technology")
    recommended = recommended_plan(config, answers)
    plans = [plan_vars(config, p, recommended) for p in config.plans_for(technology)]
    chosen = config.plan(answers.get("plan_id"))
    chosen = chosen if chosen and chosen.technology == technology else None
    addon_ids = set(answers.get("addons") or ())
    available = [{"id": a.id, "nombre": a.name, "precio": format_money(a.price, config.currency)}
                 for a in config.addons_for(technology)]
    zone = config.zone(answers.get("zone"))
    window = config.install_window(answers.get("install_window"))
    install_date = answers.get("install_date")
    promotion = quote.promotion
    contract = answers.get("contract")
    return {
        "proveedor": config.name,
        "asesor": agent_name,
        "saliente": outbound,
        "saludo": GREETINGS[part],
        "despedida": FAREWELLS[part],
        "cliente": customer_name(record, answers),
        "zona": zone.name if zone else "",
        "cobertura": answers.get("coverage"),
        "desea_continuar": answers.get("wants_to_continue"),
        "tecnologia": TECHNOLOGY_LABELS.get(technology, "").lower(),
        "perfil": TIER_LABELS.get(answers.get("usage_profile"), ""),
        "costo_instalacion": quote.installation_base.text,
        "instalacion": quote.installation.text,
        "instalacion_gratis": promotion is not None,
        "promocion": {"nombre": promotion.name, "inicio": spanish_date(promotion.starts),
                      "fin": spanish_date(promotion.ends)} if promotion else None,
        "planes": plans,
        "plan": plan_vars(config, chosen, recommended) if chosen else None,
        "recomendado": plan_vars(config, recommended, recommended) if recommended else None,
        "adicionales_disponibles": available,
        "adicionales": [a for a in available if a["id"] in addon_ids],
        "mensualidad": quote.first_month.text if quote.first_month else "",
        "mensualidad_total": quote.monthly.text if quote.monthly else "",
        "primera_mensualidad_hoy": config.first_month_due_today,
        "contrato": CONTRACT_LABELS.get(contract, "").lower() if contract else "",
        "contrato_12m": contract == "12m",
        "plazo_meses": config.contract_months,
        "clausula": config.contract_clause,
        "deposito": quote.deposit.text,
        "garantia_retenida": quote.guarantee_held.text if quote.guarantee_held else "",
        "total_hoy": quote.due_today.text if quote.due_today else "",
        "total_12m": quote.due_today_by_contract["12m"].text,
        "total_indefinido": quote.due_today_by_contract["open"].text,
        "reembolso": list(config.refund_conditions),
        "corte_fibra": config.fibre_cut_note,
        "edificio": answers.get("building"),
        "fecha_instalacion": spanish_date(date.fromisoformat(install_date)) if install_date else "",
        "horario": window.label if window else "",
    }

