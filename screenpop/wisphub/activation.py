"""What the activation form of a preinstallation is filled with (pure).

`ActivationData` holds what the call captured, in our terms (kept as JSON with the operation, so
any node can send it again after a restart); an empty value means "the call did not capture it".
`activation_payload` maps it onto the form WispHub served just now, as the panel fact sheet asks
(wisphub-panel.md §6): every field keeps the value WispHub prefilled, only what the call captured
overrides it, phones are added to WispHub's list and comments appended to WispHub's comments.

Free IPs and plan options on the page are the ones WispHub computed for the zone (and router)
the page was rendered with; the endpoint that recomputes them for another zone is unknown
(wisphub-panel.md §3, §9.4). So the zone posted must be the page's, and the router too when the
page has one; otherwise the agent is told to set it in WispHub first.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from html import escape

from screenpop.fields import fold
from screenpop.wisphub.errors import WispHubError
from screenpop.wisphub.panel_forms import PanelForm, choose_option, require

DATE_FORMAT = "%d/%m/%Y %H:%M"
ESTADO_NUEVA = "1"

# our value → (field name, label for messages); each must exist on the form
TEXT_FIELDS = {
    "first_name": ("usr-first_name", "nombre"),
    "last_name": ("usr-last_name", "apellidos"),
    "email": ("usr-email", "correo"),
    "dni": ("perfil-cedula", "número de identificación"),
    "address": ("perfil-direccion", "dirección"),
    "colonia": ("perfil-localidad", "colonia"),
    "city": ("perfil-ciudad", "ciudad"),
    "coordinates": ("cliente-coordenadas", "coordenadas"),
    "install_at": ("cliente-fecha_instalacion", "fecha de instalación"),
    "installation_cost": ("cliente-costo_instalacion", "costo de instalación"),
}
COMMENTS_FIELD = ("cliente-comentarios", "comentarios")
PHONES_FIELD = ("perfil-telefono", "teléfonos")
RB_NAME_FIELD = ("cliente-cliente_rb", "nombre en el router")
IP_FIELD = ("cliente-ip", "IP")
ZONE_FIELD = ("cliente-zona_cliente", "zona")
ROUTER_FIELD = ("cliente-router_cliente", "router")
AP_FIELD = ("cliente-ap_cliente", "AP o sectorial")
PLAN_FIELD = ("cliente-plan_internet", "plan de internet")
STATE_FIELD = ("cliente-estado_instalacion", "estado de la instalación")
TECHNICIAN_FIELD = ("cliente-tecnico", "técnico")
HIRING_FIELD = ("cliente-forma_contratacion", "forma de contratación")
SECRET_FIELDS = re.compile(r"csrfmiddlewaretoken|password", re.I)
# how the preview names a field the page gives no <label> for
FIELD_LABELS = {name: what.capitalize() for name, what in (
    *TEXT_FIELDS.values(), COMMENTS_FIELD, PHONES_FIELD, RB_NAME_FIELD, IP_FIELD, ZONE_FIELD,
    ROUTER_FIELD, AP_FIELD, PLAN_FIELD, STATE_FIELD, TECHNICIAN_FIELD, HIRING_FIELD)}


class ActivationNotPossible(WispHubError):
    """WispHub's page offers no way to fill a required value (no free IP, no router for the
    zone, a zone the page was not computed for); the message says what to do in WispHub."""


@dataclass(frozen=True)
class ActivationData:
    username: str                 # "<local>@<empresa>" of the preinstallation
    service_id: str               # id_servicio
    zone: str                     # zone name (or option value) to post
    plan: str                     # WispHub plan option value or text to look for
    first_name: str = ""          # "" everywhere below: not captured, WispHub's value is kept
    last_name: str = ""
    add_phones: tuple[str, ...] = ()  # captured numbers, added to WispHub's list
    install_at: str = ""          # "DD/MM/YYYY HH:MM", tenant-local
    email: str = ""
    dni: str = ""
    address: str = ""
    colonia: str = ""
    city: str = ""
    coordinates: str = ""
    installation_cost: str = ""
    comments: str = ""            # appended to WispHub's comments
    router: str = ""              # configured per-zone default; "" = the page's own, if any
    ap: str = ""
    technician: str = ""          # staff username/id, used only when WispHub has none
    hiring_channel: str = ""      # cliente-forma_contratacion option, only when WispHub has none

    def to_dict(self) -> dict:
        data = asdict(self)
        data["add_phones"] = list(self.add_phones)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> ActivationData:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["add_phones"] = tuple(values.get("add_phones") or ())
        return cls(**values)

    @property
    def path(self) -> str:
        return f"preinstalacion/activar/{self.username}/{self.service_id}/"


def router_name(first_name: str, last_name: str, service_id: str) -> str:
    """The name the customer gets in the router (Simple Queue/PPPoE): `juan_perez_1001`."""
    words = re.sub(r"[^a-z0-9]+", "_", fold(f"{first_name} {last_name}")).strip("_")
    return f"{'_'.join(words.split('_')[:2]) or 'cliente'}_{service_id}"


def _base(form: PanelForm) -> dict[str, str]:
    """What a browser would post for the untouched form."""
    payload: dict[str, str] = {}
    for name, item in form.fields.items():
        if item.kind in ("file", "submit", "button", "reset"):
            continue
        if item.kind == "checkbox" and not item.value:
            continue
        payload[name] = item.value
    return payload


def _digits(phone: str) -> str:
    return re.sub(r"\D", "", phone)[-10:]


def merged_phones(current: str, added: tuple[str, ...]) -> str:
    """WispHub's comma-joined phones with the captured ones appended, none twice."""
    phones = [p.strip() for p in current.split(",") if p.strip()]
    known = {_digits(p) for p in phones}
    for phone in added:
        if phone and _digits(phone) not in known:
            phones.append(phone)
            known.add(_digits(phone))
    return ",".join(phones)


def appended_comments(current: str, ours: str) -> str:
    """WispHub's comments (CKEditor HTML or text, with markers such as "HECHO CON EL
    FORMULARIO") followed by ours; never replaced, never appended twice."""
    if not ours:
        return current
    if "<" in current and ">" in current:
        block = "<p>" + "<br>".join(escape(line) for line in ours.splitlines()) + "</p>"
        return current if block in current else current + block
    if ours in current:
        return current
    return f"{current.rstrip()}\n\n{ours}" if current.strip() else ours


def _placed(form: PanelForm, field: tuple[str, str], wanted: str, zone_text: str) -> str:
    """Router or AP: the configured one, or the one the page already has; never a guess."""
    name, what = field
    rendered = require(form, name, what).value
    if not wanted:
        if rendered:
            return rendered
        raise ActivationNotPossible(
            f"No hay {what} configurado para la zona «{zone_text}» y la preinstalación no tiene "
            f"uno en WispHub: pida a sistemas configurarlo para esa zona, o asígnelo en WispHub "
            f"(Editar preinstalación) y vuelva a pulsar Activar / no {name} configured")
    chosen = choose_option(form, name, wanted, what=what)
    if rendered and rendered != chosen:
        raise ActivationNotPossible(
            f"La preinstalación tiene en WispHub el {what} «{form.option_text(name, rendered)}», "
            f"no «{form.option_text(name, chosen)}» como está configurado para la zona: WispHub "
            f"calcula las IPs libres y los planes para el suyo. Corrija uno de los dos y vuelva a "
            f"pulsar Activar / {name} differs from the page")
    return chosen


def activation_payload(form: PanelForm, data: ActivationData) -> dict[str, str]:
    """The urlencoded fields to POST (without the CSRF token); raises PanelFormChanged for a
    missing field/option and ActivationNotPossible when the page cannot be filled rightly."""
    payload = _base(form)
    for attr, (name, what) in TEXT_FIELDS.items():
        require(form, name, what)
        if value := str(getattr(data, attr) or "").strip():
            payload[name] = value
    require(form, *COMMENTS_FIELD)
    payload[COMMENTS_FIELD[0]] = appended_comments(payload.get(COMMENTS_FIELD[0], ""), data.comments)
    require(form, *PHONES_FIELD)
    payload[PHONES_FIELD[0]] = merged_phones(payload.get(PHONES_FIELD[0], ""), data.add_phones)
    require(form, *RB_NAME_FIELD)
    payload[RB_NAME_FIELD[0]] = form.fields[RB_NAME_FIELD[0]].value or router_name(
        payload.get("usr-first_name", ""), payload.get("usr-last_name", ""), data.service_id)

    zone = choose_option(form, ZONE_FIELD[0], data.zone, what=ZONE_FIELD[1])
    zone_text = form.option_text(ZONE_FIELD[0], zone)
    rendered_zone = form.fields[ZONE_FIELD[0]].value
    if rendered_zone != zone:
        now = (f"tiene la zona «{form.option_text(ZONE_FIELD[0], rendered_zone)}»"
               if rendered_zone else "no tiene zona")
        raise ActivationNotPossible(
            f"La preinstalación {now} en WispHub y la llamada es para «{zone_text}»: WispHub "
            "calcula las IPs libres y los planes por zona. Asígnele esa zona en WispHub (Editar "
            "preinstalación) y vuelva a pulsar Activar / zone differs from the page")
    payload[ZONE_FIELD[0]] = zone
    payload[ROUTER_FIELD[0]] = _placed(form, ROUTER_FIELD, data.router, zone_text)
    payload[AP_FIELD[0]] = _placed(form, AP_FIELD, data.ap, zone_text)
    require(form, *IP_FIELD)
    if not form.free_ips:
        raise ActivationNotPossible(
            f"WispHub no ofrece IPs libres en la zona «{zone_text}»: pida a sistemas liberar una "
            "IP o ampliar la red de esa zona en WispHub, y vuelva a pulsar Activar / no free IP")
    payload[IP_FIELD[0]] = form.free_ips[0]
    payload[PLAN_FIELD[0]] = choose_option(form, PLAN_FIELD[0], data.plan, what=PLAN_FIELD[1])
    payload[STATE_FIELD[0]] = choose_option(form, STATE_FIELD[0], ESTADO_NUEVA, what=STATE_FIELD[1])
    if data.technician and not payload.get(TECHNICIAN_FIELD[0]):
        payload[TECHNICIAN_FIELD[0]] = choose_option(form, TECHNICIAN_FIELD[0], data.technician,
                                                     what=TECHNICIAN_FIELD[1])
    if data.hiring_channel and not payload.get(HIRING_FIELD[0]):
        payload[HIRING_FIELD[0]] = choose_option(form, HIRING_FIELD[0], data.hiring_channel,
                                                 what=HIRING_FIELD[1])
    return payload


def _label(form: PanelForm, name: str) -> str:
    if name in form.labels and form.labels[name]:
        return form.labels[name]
    if name in FIELD_LABELS:
        return FIELD_LABELS[name]
    return name.split("-", 1)[-1].replace("_", " ").capitalize()


def describe(form: PanelForm, payload: dict[str, str]) -> list[dict[str, object]]:
    """The payload as the agent reads it: the form's labels and option names, never field ids;
    `changed` marks what the call sets (everything else is WispHub's own value, sent back)."""
    rows = []
    for name, value in public_fields(payload).items():
        before = form.fields[name].value if name in form.fields else ""
        if not value and not before:
            continue
        rows.append({"label": _label(form, name), "value": form.option_text(name, value),
                     "changed": value != before})
    return rows


def public_fields(payload: dict[str, str]) -> dict[str, str]:
    """The payload as shown to people and kept in the audit: no CSRF token, no passwords."""
    return {k: ("••••" if SECRET_FIELDS.search(k) and v else v) for k, v in payload.items()}
