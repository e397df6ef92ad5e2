"""The vocabulary of what the agent captures during the call, and how each answer is normalised.

Other parts of the project (the agent page, the WispHub write-back) read answers by these keys.
Choices that depend on the provider (zone, plan_id, addons, objections_raised, install_window)
are checked here only as identifiers, and against the provider configuration when one is given.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from common.phones import to_e164

if TYPE_CHECKING:
    from screenpop.script.model import ProviderConfig

Kind = Literal["text", "choice", "bool", "list", "date", "phone", "email", "url"]


class AnswerError(ValueError):
    """An answer that cannot be kept; the message is Spanish, for the agent."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class AnswerField:
    kind: Kind
    label: str
    choices: tuple[str, ...] = ()          # fixed choices; empty for provider-defined ones
    choice_labels: Mapping[str, str] = field(default_factory=dict)
    max_length: int = 200


_YES_NO = {"true": True, "1": True, "si": True, "sí": True, "yes": True,
           "false": False, "0": False, "no": False}


def _choice(label: str, labels: dict[str, str]) -> AnswerField:
    return AnswerField("choice", label, tuple(labels), labels)


TECHNOLOGY_LABELS = {"wireless": "Inalámbrico", "fiber": "Fibra óptica"}
TIER_LABELS = {"basico": "Básico (navegación, redes sociales)",
               "intermedio": "Intermedio (videollamadas, Netflix)",
               "alto": "Alto rendimiento (4K, gaming)"}
CONTRACT_LABELS = {"12m": "Contrato a 12 meses", "open": "Contrato indefinido"}
DOCUMENT_LABELS = {"dni_front": "INE (frente)", "dni_back": "INE (reverso)",
                   "proof_of_address": "Comprobante de domicilio", "other": "Otro documento"}

ANSWER_FIELDS: dict[str, AnswerField] = {
    "address": AnswerField("text", "Dirección exacta", max_length=300),
    "location_url": AnswerField("url", "Ubicación en tiempo real (enlace o coordenadas)", max_length=500),
    "zone": AnswerField("choice", "Zona"),
    "coverage": AnswerField("bool", "¿Hay cobertura en su zona?"),
    "technology": _choice("Tipo de servicio", TECHNOLOGY_LABELS),
    "wants_to_continue": AnswerField("bool", "¿El cliente desea continuar?"),
    "usage_profile": _choice("Uso que le dará", TIER_LABELS),
    "plan_id": AnswerField("choice", "Plan"),
    "addons": AnswerField("list", "Servicios adicionales"),
    "contract": _choice("Contrato", CONTRACT_LABELS),
    "objections_raised": AnswerField("list", "Objeciones que surgieron"),
    "first_name": AnswerField("text", "Nombre(s)", max_length=100),
    "last_name": AnswerField("text", "Apellidos", max_length=100),
    "dni_number": AnswerField("text", "Número de identificación (INE)", max_length=40),
    "email": AnswerField("email", "Correo electrónico", max_length=254),
    "extra_phone": AnswerField("phone", "Teléfono adicional (de preferencia un familiar)"),
    "referral": AnswerField("text", "¿Cómo se enteró de nosotros?"),
    "housing": _choice("La casa es", {"own": "Propia", "rented": "Rentada"}),
    "colonia": AnswerField("text", "Colonia", max_length=100),
    "city": AnswerField("text", "Ciudad / municipio", max_length=100),
    "building": AnswerField("bool", "¿Es un edificio?"),
    "rooftop_access": AnswerField("bool", "¿Hay acceso a la azotea (llave disponible)?"),
    "fibre_cut_notes": AnswerField("text", "Corte de fibra en cruce de edificio (para la orden de trabajo)",
                                   max_length=500),
    "outlet_near": AnswerField("bool", "¿El módem quedará cerca de una toma de corriente?"),
    "install_date": AnswerField("date", "Fecha de instalación"),
    "install_window": AnswerField("choice", "Horario de instalación"),
    "documents_received": AnswerField("list", "Documentos recibidos", tuple(DOCUMENT_LABELS),
                                      DOCUMENT_LABELS),
    "notes": AnswerField("text", "Notas", max_length=2000),
}

_IDENTIFIER = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"'.]{2,}$")
_COORDINATES = re.compile(r"^\s*(-?\d{1,2}(?:\.\d+)?)\s*,\s*(-?\d{1,3}(?:\.\d+)?)\s*$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def validate_answer(key: str, value: Any, config: ProviderConfig | None = None) -> object:
    """The normalised value to keep (None means "clear this answer"), or AnswerError.

    With `config`, provider-defined choices must exist in it."""
    spec = ANSWER_FIELDS.get(key)
    if spec is None:
        raise AnswerError(key, f"Campo desconocido: {key!r}")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    normalised = _NORMALISERS[spec.kind](key, spec, value)
    if config is not None:
        _check_provider_choice(key, normalised, config)
    return normalised


def _text(key: str, spec: AnswerField, value: Any) -> str:
    if not isinstance(value, str):
        raise AnswerError(key, f"{spec.label}: debe ser texto")
    text = _CONTROL.sub("", value).strip()
    if len(text) > spec.max_length:
        raise AnswerError(key, f"{spec.label}: máximo {spec.max_length} caracteres")
    return text


def _identifier(key: str, spec: AnswerField, value: Any) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.match(value.strip()):
        raise AnswerError(key, f"{spec.label}: opción no válida ({value!r})")
    return value.strip()


def _choice_value(key: str, spec: AnswerField, value: Any) -> str:
    choice = _identifier(key, spec, value)
    if spec.choices and choice not in spec.choices:
        raise AnswerError(key, f"{spec.label}: opción no válida ({value!r}); "
                               f"opciones: {', '.join(spec.choices)}")
    return choice


def _bool(key: str, spec: AnswerField, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().casefold() in _YES_NO:
        return _YES_NO[value.strip().casefold()]
    raise AnswerError(key, f"{spec.label}: debe ser sí o no")


def _list(key: str, spec: AnswerField, value: Any) -> list[str]:
    if not isinstance(value, (list, tuple)):
        raise AnswerError(key, f"{spec.label}: debe ser una lista")
    items: list[str] = []
    for item in value:
        choice = _choice_value(key, spec, item)
        if choice not in items:
            items.append(choice)
    return items


def _date(key: str, spec: AnswerField, value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise AnswerError(key, f"{spec.label}: fecha no válida ({value!r}), use AAAA-MM-DD") from None


def _phone(key: str, spec: AnswerField, value: Any) -> str:
    number = to_e164(str(value)) if isinstance(value, (str, int)) else None
    if number is None:
        raise AnswerError(key, f"{spec.label}: número no válido ({value!r})")
    return number


def _email(key: str, spec: AnswerField, value: Any) -> str:
    text = _text(key, spec, value)
    if not _EMAIL.match(text):
        raise AnswerError(key, f"{spec.label}: correo no válido ({value!r})")
    local, domain = text.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def _url(key: str, spec: AnswerField, value: Any) -> str:
    text = _text(key, spec, value)
    coordinates = _COORDINATES.match(text)
    if coordinates:
        lat, lon = float(coordinates[1]), float(coordinates[2])
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            return f"https://maps.google.com/?q={coordinates[1]},{coordinates[2]}"
    if re.match(r"^https?://[^\s/]+\.[^\s]+$", text, re.IGNORECASE) and not re.search(r"[<>\"']", text):
        return text
    raise AnswerError(key, f"{spec.label}: escriba un enlace http(s) o coordenadas "
                           f"como 19.4326,-99.1332 ({value!r})")


_NORMALISERS = {"text": _text, "choice": _choice_value, "bool": _bool, "list": _list,
                "date": _date, "phone": _phone, "email": _email, "url": _url}


def _check_provider_choice(key: str, value: object, config: ProviderConfig) -> None:
    known = {
        "zone": [z.id for z in config.zones],
        "plan_id": [p.id for p in config.plans],
        "addons": [a.id for a in config.addons],
        "objections_raised": [o.id for o in config.objections],
        "install_window": [w.id for w in config.install_windows],
    }.get(key)
    if known is None:
        return
    values = value if isinstance(value, list) else [value]
    unknown = [v for v in values if v not in known]
    if unknown:
        raise AnswerError(key, f"{ANSWER_FIELDS[key].label}: opción no válida ({unknown[0]!r}); "
                               f"opciones: {', '.join(known)}")
