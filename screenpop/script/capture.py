"""What the agent sees of each answer field: choices from the provider, the captured value or the
one WispHub already has, and whether WispHub has it (present_in_wisphub)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from screenpop.fields import DOCUMENTS, MISSING_FIELDS, fold, still_missing
from screenpop.script.answers import ANSWER_FIELDS, TECHNOLOGY_LABELS
from screenpop.script.model import ProviderConfig, Zone
from screenpop.script.money import format_money
from screenpop.script.work import NOTHING_DONE, CallWork
from screenpop.wisphub.models import Preinstallation

# answer key → screenpop.fields.MISSING_FIELDS key WispHub's presence is judged by
WISPHUB_FIELD = {"address": "address", "location_url": "location", "email": "email",
                 "extra_phone": "extra_phone", "referral": "referral", "housing": "housing"}
# MISSING_FIELDS key → answer key that captures it during the call (documents: their upload)
CAPTURED_BY = {"address": "address", "location": "location_url", "email": "email",
               "extra_phone": "extra_phone", "referral": "referral", "housing": "housing"}


def provider_choices(config: ProviderConfig, key: str,
                     answers: Mapping[str, Any]) -> list[dict[str, str]] | None:
    technology = answers.get("technology")
    if key == "zone":
        return [{"value": z.id, "label": zone_label(z)} for z in config.zones]
    if key == "plan_id":
        return [{"value": p.id, "label": f"{p.name} · {p.speed_mbps} Mbps · "
                                         f"{short_money(p.price)}/mes"}
                for p in config.plans_for(technology)]
    if key == "addons":
        return [{"value": a.id, "label": f"{a.name} · {short_money(a.price)}/mes"}
                for a in config.addons_for(technology)]
    if key == "objections_raised":
        return [{"value": o.id, "label": o.label} for o in config.objections]
    if key == "install_window":
        return [{"value": w.id, "label": w.label} for w in config.install_windows]
    return None


def short_money(amount) -> str:
    """`$650` or `$99.50`: an amount that fits in an option label (the currency is in the totals)."""
    text = format_money(amount).rsplit(" ", 1)[0]
    return text[:-3] if text.endswith(".00") else text


def zone_label(zone: Zone) -> str:
    """The zone and what it offers, without repeating what its name already says."""
    if zone.covered:
        return f"{zone.name} ({', '.join(TECHNOLOGY_LABELS[t].lower() for t in zone.technologies)})"
    return zone.name if "sin cobertura" in fold(zone.name) else f"{zone.name} (sin cobertura)"


def present_in_wisphub(record: Preinstallation | None, key: str) -> bool | None:
    """True/False when WispHub has a place for it; None when it has not (e.g. the INE number)."""
    if key in ("first_name", "last_name"):
        return bool(record and record.name.strip())
    if key not in WISPHUB_FIELD:
        return None
    return record is not None and WISPHUB_FIELD[key] not in still_missing(record.missing, record.address)


def wisphub_value(record: Preinstallation | None, key: str) -> Any:
    if record is None:
        return None
    if key == "address":
        return record.address or None
    if key == "email":
        return record.email or None
    if key == "extra_phone" and "extra_phone" not in record.missing and len(record.phones) > 1:
        return record.phones[1]
    return None


def field_entry(config: ProviderConfig, record: Preinstallation | None,
                answers: Mapping[str, Any], key: str) -> dict[str, Any]:
    spec = ANSWER_FIELDS[key]
    choices = provider_choices(config, key, answers)
    if choices is None:
        choices = [{"value": c, "label": spec.choice_labels.get(c, c)} for c in spec.choices]
    captured = answers.get(key)
    fallback = None if captured is not None else wisphub_value(record, key)
    return {"key": key, "label": spec.label, "kind": spec.kind, "choices": choices,
            "value": captured if captured is not None else fallback,
            "source": "captured" if captured is not None else "wisphub" if fallback is not None else None,
            "present_in_wisphub": present_in_wisphub(record, key)}


def data_items(record: Preinstallation | None, answers: Mapping[str, Any],
               work: CallWork = NOTHING_DONE) -> list[dict[str, Any]]:
    """Each thing PASO 6 asks for (the phone we are calling is not one): in WispHub already,
    captured during the call (a document: uploaded from the pop), or still missing."""
    items = []
    for key, label in MISSING_FIELDS.items():
        if key == "phone":
            continue
        in_wisphub = record is not None and key not in still_missing(record.missing, record.address)
        if key in DOCUMENTS:
            captured = key in work.uploaded
        else:
            captured = CAPTURED_BY.get(key) is not None and answers.get(CAPTURED_BY[key]) is not None
        items.append({"key": key, "label": label, "present_in_wisphub": in_wisphub,
                      "captured": captured, "ok": in_wisphub or captured,
                      "note": ("en WispHub" if in_wisphub else
                               "subido" if key in DOCUMENTS and captured else
                               "capturado" if captured else "")})
    return items


def missing_now(record: Preinstallation, answers: Mapping[str, Any], work: CallWork) -> list[str]:
    """What the record still lacks once this call's captures and uploads count (FALTA)."""
    done = {i["key"] for i in data_items(record, answers, work) if i["captured"]}
    return [key for key in still_missing(record.missing, record.address) if key not in done]
