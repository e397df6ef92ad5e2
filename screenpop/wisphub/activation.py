"""What the activation form of a preinstallation is filled with (pure).

`ActivationData` holds the call's values in our terms (kept as JSON with the operation, so any
node can send it again after a restart); `activation_payload` maps them onto the form WispHub
served just now: every field the form carries keeps its value (as a browser would send it),
ours override, router/AP/plan/zone are picked among the options the page offers and the IP is
the first free one it lists.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields

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
    "comments": ("cliente-comentarios", "comentarios"),
}
PHONES_FIELD = ("perfil-telefono", "teléfonos")
RB_NAME_FIELD = ("cliente-cliente_rb", "nombre en el router")
IP_FIELD = ("cliente-ip", "IP")
STATE_FIELD = ("cliente-estado_instalacion", "estado de la instalación")
SECRET_FIELDS = re.compile(r"csrfmiddlewaretoken|password", re.I)


class ActivationNotPossible(WispHubError):
    """WispHub's page offers no way to fill a required value (e.g. no free IP in the zone)."""


@dataclass(frozen=True)
class ActivationData:
    username: str                 # "<local>@<empresa>" of the preinstallation
    service_id: str               # id_servicio
    first_name: str
    last_name: str
    phones: tuple[str, ...]       # main first; WispHub joins them with ","
    zone: str                     # zone name (or option value) as the record/answers have it
    plan: str                     # WispHub plan option value or text to look for
    install_at: str = ""          # "DD/MM/YYYY HH:MM", tenant-local
    email: str = ""
    dni: str = ""
    address: str = ""
    colonia: str = ""
    city: str = ""
    coordinates: str = ""
    installation_cost: str = ""
    comments: str = ""
    router: str = ""              # configured per-zone default; "" = first offered
    ap: str = ""
    technician: str = ""          # staff username/id; "" = leave the form's value
    hiring_channel: str = ""      # cliente-forma_contratacion option, when configured

    def to_dict(self) -> dict:
        data = asdict(self)
        data["phones"] = list(self.phones)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> ActivationData:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["phones"] = tuple(values.get("phones") or ())
        return cls(**values)

    @property
    def path(self) -> str:
        return f"preinstalacion/activar/{self.username}/{self.service_id}/"


def router_name(data: ActivationData) -> str:
    """The name the customer gets in the router (Simple Queue/PPPoE): `juan_perez_1001`."""
    words = re.sub(r"[^a-z0-9]+", "_", fold(f"{data.first_name} {data.last_name}")).strip("_")
    return f"{'_'.join(words.split('_')[:2]) or 'cliente'}_{data.service_id}"


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


def activation_payload(form: PanelForm, data: ActivationData) -> dict[str, str]:
    """The urlencoded fields to POST (without the CSRF token); raises PanelFormChanged for a
    missing field/option and ActivationNotPossible when WispHub offers no free IP."""
    payload = _base(form)
    for attr, (name, what) in TEXT_FIELDS.items():
        require(form, name, what)
        payload[name] = str(getattr(data, attr) or "")
    require(form, *PHONES_FIELD)
    payload[PHONES_FIELD[0]] = ",".join(p for p in data.phones if p)
    require(form, *RB_NAME_FIELD)
    payload[RB_NAME_FIELD[0]] = form.fields[RB_NAME_FIELD[0]].value or router_name(data)
    require(form, *IP_FIELD)
    if not form.free_ips:
        raise ActivationNotPossible(
            "WispHub no ofrece IPs libres para esta zona; libere una IP o revise la zona en "
            "WispHub / no free IP offered")
    payload[IP_FIELD[0]] = form.free_ips[0]
    payload["cliente-zona_cliente"] = choose_option(form, "cliente-zona_cliente", data.zone,
                                                    what="zona")
    payload["cliente-router_cliente"] = choose_option(form, "cliente-router_cliente", data.router,
                                                      what="router", first_if_unset=True)
    payload["cliente-ap_cliente"] = choose_option(form, "cliente-ap_cliente", data.ap,
                                                  what="AP / sectorial", first_if_unset=True)
    payload["cliente-plan_internet"] = choose_option(form, "cliente-plan_internet", data.plan,
                                                     what="plan de internet")
    payload[STATE_FIELD[0]] = choose_option(form, STATE_FIELD[0], ESTADO_NUEVA, what=STATE_FIELD[1])
    if data.technician:
        payload["cliente-tecnico"] = choose_option(form, "cliente-tecnico", data.technician,
                                                   what="técnico")
    if data.hiring_channel:
        payload["cliente-forma_contratacion"] = choose_option(
            form, "cliente-forma_contratacion", data.hiring_channel, what="forma de contratación")
    return payload


def public_fields(payload: dict[str, str]) -> dict[str, str]:
    """The payload as shown to people and kept in the audit: no CSRF token, no passwords."""
    return {k: ("••••" if SECRET_FIELDS.search(k) and v else v) for k, v in payload.items()}
