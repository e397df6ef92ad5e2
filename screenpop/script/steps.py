"""The guided call, step by step (PASO 2–10 of the procedure), rendered for one customer.

`render_script` is pure: provider config + WispHub record + answers + clock → JSON-ready dict.
Strings in `say` and in objections' `answer` are HTML-safe text (every value escaped by the
template engine: insert them as HTML); every other string is plain text.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from jinja2 import TemplateError

from screenpop.fields import DOCUMENTS
from screenpop.script.answers import TECHNOLOGY_LABELS
from screenpop.script.capture import data_items, field_entry
from screenpop.script.context import build_context, recommended_plan
from screenpop.script.greeting import part_of_day
from screenpop.script.model import ProviderConfig
from screenpop.script.money import format_money, quote
from screenpop.wisphub.models import Preinstallation

log = logging.getLogger(__name__)

STEP_IDS = ("saludo", "cobertura", "planes", "contrato", "objeciones", "datos", "condiciones",
            "deposito", "servicios", "cierre")

STEP_FIELDS: dict[str, tuple[str, ...]] = {
    "saludo": (),
    "cobertura": ("address", "location_url", "zone", "coverage", "technology", "wants_to_continue"),
    "planes": ("usage_profile", "plan_id", "addons"),
    "contrato": ("contract",),
    "objeciones": ("objections_raised",),
    "datos": ("first_name", "last_name", "dni_number", "email", "extra_phone", "referral",
              "housing", "colonia", "city", "documents_received"),
    "condiciones": ("building", "rooftop_access", "fibre_cut_notes", "outlet_near"),
    "deposito": (),
    "servicios": (),
    "cierre": ("install_date", "install_window", "notes"),
}


def lock_reason(answers: Mapping[str, Any], step: str) -> str | None:
    """Steps after coverage wait for coverage and the customer's yes; once either is a no, the
    closing opens so the agent can end the call politely."""
    if STEP_IDS.index(step) <= 1:
        return None
    coverage, wants = answers.get("coverage"), answers.get("wants_to_continue")
    if coverage is True and wants is True:
        return None
    if step == "cierre" and (coverage is False or wants is False):
        return None
    if coverage is False:
        return "Sin cobertura en la zona del cliente."
    if wants is False:
        return "El cliente no desea continuar."
    return "Se desbloquea al confirmar la cobertura y que el cliente desea continuar."


def render_script(config: ProviderConfig, *, record: Preinstallation | None, agent_name: str,
                  answers: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    today = now.astimezone(config.tz).date()
    totals = quote(config, answers, today)
    context = build_context(config, record=record, agent_name=agent_name, answers=answers,
                            now=now, quote=totals)
    recommended = recommended_plan(config, answers)
    items = data_items(record, answers)
    steps = []
    for number, step in enumerate(STEP_IDS, start=1):
        texts = config.script[step]
        reason = lock_reason(answers, step)
        entry: dict[str, Any] = {
            "id": step, "number": number, "title": texts.title,
            "say": _say(config, step, context),
            "fields": [field_entry(config, record, answers, key) for key in STEP_FIELDS[step]],
            "locked": reason is not None, "lock_reason": reason,
            "hints": HINTS[step](config, record, answers),
        }
        if step == "datos":
            entry["items"] = items
        if step == "servicios":
            entry["items"] = services(config, answers)
        steps.append(entry)
    technology = answers.get("technology")
    raised = set(answers.get("objections_raised") or ())
    return {
        "provider": config.name,
        "part_of_day": part_of_day(now, config.tz),
        "customer_name": context["cliente"],
        "steps": steps,
        "quote": totals.to_dict(),
        "recommended_plan": recommended.id if recommended else None,
        "plans": [{"id": p.id, "name": p.name, "tier": p.tier, "speed_mbps": p.speed_mbps,
                   "price": str(p.price), "price_text": format_money(p.price, config.currency),
                   "technology": p.technology,
                   "recommended": recommended is not None and p.id == recommended.id}
                  for p in config.plans_for(technology)],
        "addons": [{"id": a.id, "name": a.name, "price": str(a.price),
                    "price_text": format_money(a.price, config.currency)}
                   for a in config.addons_for(technology)],
        "objections": [{"id": o.id, "label": o.label, "key": o.key,
                        "answer": _render(config, f"objections[{i}].answer", context),
                        "raised": o.id in raised}
                       for i, o in enumerate(config.objections)],
        "checklist": checklist(config, answers, items),
    }


def _say(config: ProviderConfig, step: str, context: Mapping[str, Any]) -> list[str]:
    lines = (_render(config, f"script.{step}.say[{i}]", context)
             for i in range(len(config.script[step].say)))
    return [line for line in lines if line]


def _render(config: ProviderConfig, path: str, context: Mapping[str, Any]) -> str:
    try:
        return config.templates.render(path, context)
    except TemplateError:
        # start-up renders every template with sample data; a case it missed must not end the call
        log.exception("script template %s failed", path)
        return f"[texto no disponible: revisa {path} en la configuración del proveedor]"


def services(config: ProviderConfig, answers: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What PASO 9 attaches in WispHub: internet, add-ons, guarantee."""
    plan = config.plan(answers.get("plan_id"))
    if plan and plan.technology != answers.get("technology"):
        plan = None
    chosen = set(answers.get("addons") or ())
    items = [{"key": "plan", "ok": plan is not None,
              "label": f"Internet: {plan.name} ({plan.speed_mbps} Mbps)" if plan else "Internet: plan sin elegir"}]
    items += [{"key": f"addon:{a.id}", "label": a.name, "ok": True}
              for a in config.addons_for(answers.get("technology")) if a.id in chosen]
    items.append({"key": "deposit", "ok": True,
                  "label": f"Garantía ({format_money(config.deposit, config.currency)})"})
    return items


def checklist(config: ProviderConfig, answers: Mapping[str, Any],
              items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    plan = services(config, answers)[0]
    chosen = set(answers.get("addons") or ())
    addons = [a.name for a in config.addons_for(answers.get("technology")) if a.id in chosen]
    missing_data = [i["label"] for i in items if not i["ok"] and i["key"] not in DOCUMENTS]
    names = bool(answers.get("first_name") and answers.get("last_name"))
    missing_docs = [i["label"] for i in items if not i["ok"] and i["key"] in DOCUMENTS]
    window = config.install_window(answers.get("install_window"))
    return [
        {"key": "coverage", "label": "Cobertura confirmada y el cliente desea continuar",
         "ok": answers.get("coverage") is True and answers.get("wants_to_continue") is True},
        {"key": "plan", "label": plan["label"], "ok": plan["ok"]},
        {"key": "addons", "label": "Adicionales: " + (", ".join(addons) or "solo internet"),
         "ok": True},
        {"key": "contract", "ok": answers.get("contract") is not None,
         "label": {"12m": "Contrato a 12 meses", "open": "Contrato indefinido"}.get(
             answers.get("contract"), "Contrato sin elegir")},
        {"key": "customer_data", "ok": names and not missing_data,
         "label": "Datos del cliente" + (f" (faltan: {', '.join(([] if names else ['nombre completo']) + missing_data)})"
                                         if missing_data or not names else "")},
        {"key": "documents", "ok": not missing_docs,
         "label": "Documentos recibidos y subidos" + (f" (faltan: {', '.join(missing_docs)})"
                                                      if missing_docs else "")},
        {"key": "installation", "ok": bool(answers.get("install_date") and window),
         "label": "Fecha y horario de instalación"},
    ]


def _hints_saludo(config, record, answers) -> list[str]:
    if record is None:
        return ["Llamada sin preinstalación vinculada: busca al cliente o captura sus datos."]
    return ["Mantén un tono amable y profesional durante toda la llamada."]


def _hints_cobertura(config, record, answers) -> list[str]:
    hints = []
    zone = config.zone(answers.get("zone"))
    technology = answers.get("technology")
    if zone and not zone.covered:
        hints.append(f"La zona {zone.name} no tiene cobertura.")
    elif zone and technology and technology not in zone.technologies:
        offered = " y ".join(TECHNOLOGY_LABELS[t].lower() for t in zone.technologies)
        hints.append(f"En {zone.name} solo hay servicio {offered}.")
    if answers.get("coverage") is False or answers.get("wants_to_continue") is False:
        hints.append("Agradece y cierra la llamada (paso Cierre).")
    elif answers.get("coverage") and answers.get("wants_to_continue"):
        hints.append("Activa la preinstalación en WispHub para pasar al cliente a Instalaciones.")
    return hints


def _hints_planes(config, record, answers) -> list[str]:
    if not answers.get("technology"):
        return ["Elige el tipo de servicio en Cobertura para ver los planes."]
    plan = config.plan(answers.get("plan_id"))
    if plan and plan.technology != answers.get("technology"):
        return ["El plan elegido no es de este tipo de servicio: elige otro."]
    recommended = recommended_plan(config, answers)
    return [f"Recomendado por su uso: {recommended.name}."] if recommended else []


def _hints_contrato(config, record, answers) -> list[str]:
    if answers.get("contract") == "12m":
        return ["Recalca que con 12 meses no podrá cancelar antes de tiempo."]
    return []


def _hints_objeciones(config, record, answers) -> list[str]:
    return ["Responde con seguridad, empatía y argumentos sólidos."]


def _hints_datos(config, record, answers) -> list[str]:
    missing = [i["label"] for i in data_items(record, answers) if not i["ok"]]
    hints = [f"Faltan: {', '.join(missing)}."] if missing else []
    if record is not None and record.name and not answers.get("first_name"):
        hints.append(f"En WispHub el nombre es: {record.name}.")
    hints.append("Sube los documentos recibidos en WispHub: Instalaciones → Subir archivos.")
    return hints


def _hints_condiciones(config, record, answers) -> list[str]:
    hints = []
    if answers.get("building") and answers.get("rooftop_access") is False:
        hints.append("Sin acceso a la azotea: acuerda cómo conseguir la llave antes de la visita.")
    if answers.get("building") and answers.get("technology") == "fiber":
        hints.append("Anota en la orden de trabajo cualquier corte de fibra en cruce de edificio.")
    if answers.get("outlet_near") is False:
        hints.append("El módem necesita una toma de corriente cercana.")
    return hints


def _hints_deposito(config, record, answers) -> list[str]:
    return [] if answers.get("contract") else ["Elige el contrato para calcular el total a pagar."]


def _hints_servicios(config, record, answers) -> list[str]:
    return ["Anexa en WispHub (Lista de instalaciones → Agregar servicio) los servicios de la lista."]


def _hints_cierre(config, record, answers) -> list[str]:
    if answers.get("install_date") and answers.get("install_window"):
        return []
    return ["Confirma la fecha y el horario aproximado de instalación."]


HINTS = {"saludo": _hints_saludo, "cobertura": _hints_cobertura, "planes": _hints_planes,
         "contrato": _hints_contrato, "objeciones": _hints_objeciones, "datos": _hints_datos,
         "condiciones": _hints_condiciones, "deposito": _hints_deposito,
         "servicios": _hints_servicios, "cierre": _hints_cierre}
