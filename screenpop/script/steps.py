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
from screenpop.script.capture import data_items, field_entry, missing_now
from screenpop.script.context import build_context, recommended_plan
from screenpop.script.greeting import part_of_day
from screenpop.script.model import ProviderConfig
from screenpop.script.money import format_money, quote
from screenpop.script.work import NOTHING_DONE, CallWork
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
              "housing", "colonia", "city"),
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
                  answers: Mapping[str, Any], now: datetime, work: CallWork = NOTHING_DONE,
                  direction: str = "inbound") -> dict[str, Any]:
    """`work`: what the pop already did in WispHub for this call; `direction`: "outbound" for a
    call the agent or a campaign placed (its own greeting, `say_outbound`)."""
    today = now.astimezone(config.tz).date()
    totals = quote(config, answers, today)
    outbound = direction == "outbound"
    context = build_context(config, record=record, agent_name=agent_name, answers=answers,
                            now=now, quote=totals, outbound=outbound)
    recommended = recommended_plan(config, answers)
    items = data_items(record, answers, work)
    steps = []
    for number, step in enumerate(STEP_IDS, start=1):
        texts = config.script[step]
        reason = lock_reason(answers, step)
        entry: dict[str, Any] = {
            "id": step, "number": number, "title": texts.title,
            "say": _say(config, step, context, outbound),
            "fields": [field_entry(config, record, answers, key) for key in STEP_FIELDS[step]],
            "locked": reason is not None, "lock_reason": reason,
            "hints": HINTS[step](config, record, answers, work),
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
        "direction": "outbound" if outbound else "inbound",
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
        "checklist": checklist(config, answers, items, work),
        "missing": missing_now(record, answers, work) if record else [],
        "activation": {"done": work.activated, "reference": work.activation_reference,
                       "text": work.activation_text()},
    }


def _say(config: ProviderConfig, step: str, context: Mapping[str, Any],
         outbound: bool) -> list[str]:
    texts = config.script[step]
    kind = "say_outbound" if outbound and texts.say_outbound else "say"
    lines = (_render(config, f"script.{step}.{kind}[{i}]", context)
             for i in range(len(getattr(texts, kind))))
    return [line for line in lines if line]


def _render(config: ProviderConfig, path: str, context: Mapping[str, Any]) -> str:
    try:
        return config.templates.render(path, context)
    except TemplateError:
        # start-up renders every template with sample data; a case it missed must not end the call
        log.exception("script template %s failed", path)
        return f"[texto no disponible: revise {path} en la configuración del proveedor]"


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
              items: list[dict[str, Any]], work: CallWork = NOTHING_DONE) -> list[dict[str, Any]]:
    plan = services(config, answers)[0]
    chosen = set(answers.get("addons") or ())
    addons = [a.name for a in config.addons_for(answers.get("technology")) if a.id in chosen]
    missing_data = [i["label"] for i in items if not i["ok"] and i["key"] not in DOCUMENTS]
    names = bool(answers.get("first_name") and answers.get("last_name"))
    missing_docs = [i["label"] for i in items if not i["ok"] and i["key"] in DOCUMENTS]
    window = config.install_window(answers.get("install_window"))
    missing_people = ([] if names else ["nombre completo"]) + missing_data
    return [
        {"key": "coverage", "label": "Cobertura confirmada y el cliente desea continuar",
         "ok": answers.get("coverage") is True and answers.get("wants_to_continue") is True},
        {"key": "activation", "ok": work.activated,
         "label": (f"Preinstalación activada ({work.activation_reference})"
                   if work.activated and work.activation_reference else
                   "Preinstalación activada" if work.activated else
                   "Preinstalación sin activar")},
        {"key": "plan", "label": plan["label"], "ok": plan["ok"]},
        {"key": "addons", "label": "Adicionales: " + (", ".join(addons) or "solo internet"),
         "ok": True},
        {"key": "contract", "ok": answers.get("contract") is not None,
         "label": {"12m": "Contrato a 12 meses", "open": "Contrato indefinido"}.get(
             answers.get("contract"), "Contrato sin elegir")},
        {"key": "customer_data", "ok": not missing_people,
         "label": "Datos del cliente" + (f" (faltan: {', '.join(missing_people)})"
                                         if missing_people else "")
         + (" · guardados en WispHub" if work.data_saved else "")},
        {"key": "documents", "ok": not missing_docs,
         "label": "Documentos recibidos y subidos" + (f" (faltan: {', '.join(missing_docs)})"
                                                      if missing_docs else "")},
        {"key": "services", "ok": bool(work.services),
         "label": ("Servicios anexados: " + ", ".join(work.services)) if work.services
         else "Servicios sin anexar"},
        {"key": "installation", "ok": bool(answers.get("install_date") and window),
         "label": "Fecha y horario de instalación"},
    ]


def _hints_saludo(config, record, answers, work) -> list[str]:
    if record is None:
        return ["Llamada sin preinstalación vinculada: busque al cliente y vincule la llamada, o capture sus datos."]
    return ["Mantenga un tono amable y profesional durante toda la llamada."]


def _hints_cobertura(config, record, answers, work) -> list[str]:
    hints = []
    zone = config.zone(answers.get("zone"))
    technology = answers.get("technology")
    if zone and not zone.covered:
        hints.append(f"La zona {zone.name} no tiene cobertura.")
    elif zone and technology and technology not in zone.technologies:
        offered = " y ".join(TECHNOLOGY_LABELS[t].lower() for t in zone.technologies)
        hints.append(f"En {zone.name} solo hay servicio {offered}.")
    if answers.get("coverage") is False or answers.get("wants_to_continue") is False:
        hints.append("Agradezca y cierre la llamada (paso Cierre).")
    elif work.activated:
        hints.append(work.activation_text())
    elif answers.get("coverage") and answers.get("wants_to_continue"):
        hints.append("Pulse «Activar preinstalación» en esta pantalla: el cliente pasa a Instalaciones.")
    return hints


def _hints_planes(config, record, answers, work) -> list[str]:
    if not answers.get("technology"):
        return ["Elija el tipo de servicio en Cobertura para ver los planes."]
    plan = config.plan(answers.get("plan_id"))
    if plan and plan.technology != answers.get("technology"):
        return ["El plan elegido no es de este tipo de servicio: elija otro."]
    recommended = recommended_plan(config, answers)
    return [f"Recomendado por su uso: {recommended.name}."] if recommended else []


def _hints_contrato(config, record, answers, work) -> list[str]:
    if answers.get("contract") == "12m":
        return ["Recalque que con 12 meses no podrá cancelar antes de tiempo."]
    return []


def _hints_objeciones(config, record, answers, work) -> list[str]:
    return ["Responda con seguridad, empatía y argumentos sólidos."]


def _hints_datos(config, record, answers, work) -> list[str]:
    items = data_items(record, answers, work)
    missing = [i["label"] for i in items if not i["ok"]]
    hints = [f"Faltan: {', '.join(missing)}."] if missing else []
    if record is not None and record.name and not answers.get("first_name"):
        hints.append(f"En WispHub el nombre es: {record.name}.")
    if any(not i["ok"] for i in items if i["key"] in DOCUMENTS):
        hints.append("Los documentos que le envíe el cliente se suben desde esta pantalla "
                     "(arrastre el archivo o «elija archivos»).")
    return hints


def _hints_condiciones(config, record, answers, work) -> list[str]:
    hints = []
    if answers.get("building") and answers.get("rooftop_access") is False:
        hints.append("Sin acceso a la azotea: acuerde con el cliente cómo conseguir la llave antes de la visita.")
    if answers.get("building") and answers.get("technology") == "fiber":
        hints.append("Anote en «Corte de fibra en cruce de edificio» cualquier corte que haga falta: va en la orden de trabajo.")
    if answers.get("outlet_near") is False:
        hints.append("El módem necesita una toma de corriente cercana.")
    return hints


def _hints_deposito(config, record, answers, work) -> list[str]:
    return [] if answers.get("contract") else ["Elija el contrato para calcular el total a pagar."]


def _hints_servicios(config, record, answers, work) -> list[str]:
    if work.services:
        return [f"Servicios ya anexados desde esta pantalla: {', '.join(work.services)}."]
    return ["Pulse «Agregar servicios» en esta pantalla para anexar en WispHub los servicios "
            "de la lista."]


def _hints_cierre(config, record, answers, work) -> list[str]:
    if answers.get("install_date") and answers.get("install_window"):
        return []
    return ["Confirme la fecha y el horario aproximado de instalación."]


HINTS = {"saludo": _hints_saludo, "cobertura": _hints_cobertura, "planes": _hints_planes,
         "contrato": _hints_contrato, "objeciones": _hints_objeciones, "datos": _hints_datos,
         "condiciones": _hints_condiciones, "deposito": _hints_deposito,
         "servicios": _hints_servicios, "cierre": _hints_cierre}
