"""From the call (WispHub record, captured answers, provider config) to what each write sends (pure)."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from common.phones import to_e164
from screenpop.operations.settings import ActionSettings, ZoneDefaults
from screenpop.wisphub.activation import ActivationData
from screenpop.wisphub.models import Preinstallation

HOUSING = {"own": "Casa propia", "rented": "Casa rentada"}
SENDABLE_SERVICES = ("tv", "phone")  # the documented "agregar servicio" routes
DOCUMENT_TITLES = {"dni_front": "INE (frente)", "dni_back": "INE (reverso)",
                   "proof_of_address": "Comprobante de domicilio", "other": "Documento"}


def national(number: str | None) -> str:
    """WispHub's phones are free text; MX integrators keep the 10 national digits."""
    e164 = to_e164(number) if number else None
    if not e164:
        return (number or "").strip()
    return e164[3:] if e164.startswith("+52") else e164.lstrip("+")


def _text(answers: Mapping[str, Any], key: str) -> str:
    value = answers.get(key)
    return str(value).strip() if value not in (None, "") else ""


def _zone(provider, answers: Mapping[str, Any], record: Preinstallation,
          settings: ActionSettings) -> tuple[str, ZoneDefaults]:
    zone_id = _text(answers, "zone")
    defaults = settings.zones.get(zone_id) or settings.zones.get(record.zone or "") or ZoneDefaults()
    provider_zone = provider.zone(zone_id) if provider is not None and zone_id else None
    name = defaults.wisphub_zone or record.zone or (provider_zone.name if provider_zone else zone_id)
    return name, defaults


def installation_cost(provider, answers: Mapping[str, Any], today: date) -> str:
    if provider is None:
        return ""
    technology = answers.get("technology")
    free = any(p.free_installation and p.applies(today, technology) for p in provider.promotions)
    return f"{Decimal(0) if free else provider.installation_cost:.2f}"


def _install_at(provider, answers: Mapping[str, Any]) -> str:
    day = _text(answers, "install_date")
    if not day:
        return ""
    window = provider.install_window(answers.get("install_window")) if provider else None
    start = window.starts.strftime("%H:%M") if window else "09:00"
    return f"{date.fromisoformat(day):%d/%m/%Y} {start}"


def comments(provider, answers: Mapping[str, Any]) -> str:
    lines = []
    plan = provider.plan(answers.get("plan_id")) if provider else None
    if plan:
        lines.append(f"Plan: {plan.name} (${plan.price:.2f}/mes)")
    addons = [a.name for a in (provider.addons if provider else ()) if a.id in (answers.get("addons") or [])]
    if addons:
        lines.append("Servicios adicionales: " + ", ".join(addons))
    if answers.get("contract"):
        lines.append("Contrato: " + {"12m": "12 meses", "open": "indefinido"}.get(answers["contract"], answers["contract"]))
    window = provider.install_window(answers.get("install_window")) if provider else None
    if window:
        lines.append(f"Horario de instalación: {window.label}")
    if answers.get("referral"):
        lines.append(f"Se enteró por: {answers['referral']}")
    if answers.get("housing") in HOUSING:
        lines.append(HOUSING[answers["housing"]])
    if answers.get("building") is True:
        lines.append("Edificio; acceso a azotea: " + ("sí" if answers.get("rooftop_access") else "no"))
    if answers.get("fibre_cut_notes"):
        lines.append(f"Corte de fibra: {answers['fibre_cut_notes']}")
    if answers.get("outlet_near") is False:
        lines.append("El módem no queda cerca de una toma de corriente")
    if answers.get("notes"):
        lines.append(str(answers["notes"]))
    return "\n".join(lines)


def activation_data(record: Preinstallation, answers: Mapping[str, Any], provider,
                    settings: ActionSettings, today: date) -> ActivationData:
    """Only what the call captured; WispHub keeps everything else it already holds."""
    zone, defaults = _zone(provider, answers, record, settings)
    plan_id = _text(answers, "plan_id")
    plan = provider.plan(plan_id) if provider is not None and plan_id else None
    added = [national(answers["extra_phone"])] if answers.get("extra_phone") else []
    return ActivationData(
        username=record.username or "", service_id=record.id,
        zone=zone, plan=settings.plans.get(plan_id) or (plan.name if plan else plan_id),
        first_name=_text(answers, "first_name"), last_name=_text(answers, "last_name"),
        add_phones=tuple(p for p in added if p),
        install_at=_install_at(provider, answers),
        email=_text(answers, "email"), dni=_text(answers, "dni_number"),
        address=_text(answers, "address"), colonia=_text(answers, "colonia"),
        city=_text(answers, "city"), coordinates=_text(answers, "location_url"),
        installation_cost=installation_cost(provider, answers, today),
        comments=comments(provider, answers),
        router=defaults.router, ap=defaults.ap, technician=defaults.technician,
        hiring_channel=settings.hiring_channel)


def missing_for_activation(answers: Mapping[str, Any]) -> list[str]:
    """What the agent still has to capture before activating, in the agent's words."""
    needed = []
    if answers.get("coverage") is not True:
        needed.append("confirmar la cobertura")
    if answers.get("wants_to_continue") is not True:
        needed.append("que el cliente desee continuar")
    if not _text(answers, "plan_id"):
        needed.append("el plan")
    if not _text(answers, "install_date"):
        needed.append("la fecha de instalación")
    return needed


def profile_fields(record: Preinstallation, answers: Mapping[str, Any]) -> dict[str, Any]:
    """What the call captured for the client's profile (`/clientes/{id}/perfil/`): fields to
    set, phones to add to WispHub's list, a line to append to `informacion_adicional`, and the
    coordinates (not writable through the API: wisphub-api.md §2)."""
    data = activation_data(record, answers, None, ActionSettings(), date.today())
    fields = {"nombre": data.first_name, "apellidos": data.last_name, "email": data.email,
              "direccion": data.address, "localidad": data.colonia, "ciudad": data.city,
              "cedula": data.dni}
    extra = [f"Se enteró por: {answers['referral']}" if answers.get("referral") else "",
             HOUSING.get(str(answers.get("housing")), "")]
    return {"set": {k: v for k, v in fields.items() if v}, "add_phones": list(data.add_phones),
            "append_info": ". ".join(x for x in extra if x), "coordinates": data.coordinates}


def services(record: Preinstallation, answers: Mapping[str, Any], provider,
             settings: ActionSettings) -> list[tuple[str, str, dict[str, str]]]:
    """(op id, label, params) of every add-on contracted, and the deposit (guarantee)."""
    found = []
    wanted = set(answers.get("addons") or [])
    for addon in (provider.addons if provider else ()):
        if addon.id in wanted:
            found.append((f"service-{addon.id}", f"Servicio {addon.name}",
                          {"service_id": record.id, "service_kind": settings.services.get(addon.id, "other"),
                           "name": addon.name, "price": f"{addon.price:.2f}"}))
    if provider is not None and provider.deposit > 0 and answers.get("contract"):
        found.append(("service-deposit", "Depósito en garantía",
                      {"service_id": record.id, "service_kind": "other",
                       "name": "Depósito en garantía", "price": f"{provider.deposit:.2f}"}))
    return found
