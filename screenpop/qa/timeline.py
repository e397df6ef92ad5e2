"""A call's timeline as the reviewer reads it: each recorded event (call_events, written by
telephony, the dialer and screenpop) as one line in Spanish, with who did it by name (pure).

Events only the writers need (which account was at an endpoint) are left out; a kind this
module does not know yet is shown as «Otro evento», never by its code."""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

UNREACHED_LABELS = {
    "ivr": "Colgó en el menú",
    "after_hours": "Llamó fuera de horario",
    "callback": "Pidió que le devuelvan la llamada",
    "queue": "Colgó esperando en la cola",
    "no_answer": "No contestó",
    "busy": "Ocupado",
    "failed": "No se pudo comunicar",
    "invalid_number": "Número inválido",
    "machine": "Contestó una máquina",
    "abandoned": "Contestó y no había asesor libre",
}
DIALER_OUTCOME_LABELS = {
    **UNREACHED_LABELS,
    "connected": "Habló con un asesor",
    "agent_rejected": "El teléfono del asesor no tomó la llamada",
    "skipped": "El asesor la saltó",
    "interrupted": "Interrumpida (el marcador se detuvo)",
}
HANGUP_LABELS = {"customer": "colgó el cliente", "agent": "colgó el asesor",
                 "system": "la cortó el sistema"}
AGENT_LEGS = {"ringing": "Timbró", "answered": "Contestó",
              "answered_elsewhere": "Contestó otro asesor", "missed": "No contestó",
              "transferred": "Transfirió la llamada", "ended": "Salió de la llamada"}
OPERATION_STATES = {"pending": "pendiente", "sending": "enviando", "done": "hecho",
                    "failed": "falló", "unknown": "comprobando", "verified": "hecho",
                    "manual": "hecho a mano en WispHub"}
HIDDEN = frozenset({"agent_account"})


@dataclass(frozen=True)
class Entry:
    at: datetime
    label: str
    who: str | None


def timeline(events: Iterable[Mapping[str, Any]], *, names: Mapping[str, str],
             step_titles: Mapping[str, str]) -> list[Entry]:
    """`events`: rows with at, kind, actor, detail (a dict or its JSON); `names`: endpoint or
    username → the name to show (the call's agents); `step_titles`: guided-call step id →
    title."""
    entries = []
    for event in events:
        kind = event["kind"]
        if kind in HIDDEN:
            continue
        detail = _detail(event["detail"])
        actor = event["actor"]
        label = _label(kind, detail, step_titles)
        if kind == "ended":
            who = None
            if actor in HANGUP_LABELS and not detail.get("unreached"):
                label += f" ({HANGUP_LABELS[actor]})"
        elif kind == "started":
            who = None  # the telephony node that saw it
        else:
            who = names.get(actor, actor) if actor else None
        entries.append(Entry(event["at"], label, who))
    return entries


def _label(kind: str, detail: Mapping[str, Any], step_titles: Mapping[str, str]) -> str:
    if kind == "started":
        return "Se marcó la llamada" if detail.get("direction") == "outbound" \
            else "Entró la llamada"
    if kind == "ended":
        reason = UNREACHED_LABELS.get(detail.get("unreached") or "")
        return f"Terminó: {reason.lower()}" if reason else "Terminó"
    if kind.startswith("agent_") and kind[6:] in AGENT_LEGS:
        return AGENT_LEGS[kind[6:]]
    if kind == "hold":
        return "En espera"
    if kind == "unhold":
        return "Fin de espera"
    if kind == "linked":
        return "Vinculó la preinstalación"
    if kind == "guided_step":
        step = str(detail.get("step") or "")
        return f"Paso del guion: {step_titles.get(step, 'otro paso')}"
    if kind.startswith("wisphub_"):
        state = OPERATION_STATES.get(str(detail.get("state") or ""), "")
        text = f"WispHub: {detail.get('label') or 'acción'}"
        return f"{text} ({state})" if state else text
    if kind == "activated":
        return "Preinstalación activada"
    if kind == "disposition":
        return f"Resultado: {detail.get('label') or 'sin nombre'}"
    if kind == "dialer_attempt":
        outcome = DIALER_OUTCOME_LABELS.get(str(detail.get("outcome") or ""))
        return f"Marcador: {outcome.lower()}" if outcome else "Marcador"
    return "Otro evento"


def _detail(raw: Any) -> Mapping[str, Any]:
    if isinstance(raw, Mapping):
        return raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            return {}
        return value if isinstance(value, Mapping) else {}
    return {}
