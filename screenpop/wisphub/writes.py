"""The writes the pop makes to WispHub, each paired with a look at WispHub's state that tells
whether it already happened (used before re-sending after an unknown outcome).

Panel-only operations (wisphub-api.md §4): activating a preinstallation, uploading a document,
editing an installation. REST: the profile (`/clientes/{id}/perfil/`), add-on services (routes
answering a task id, polled to the end with a deadline).
"""
from __future__ import annotations

import asyncio
import base64
import json
import time
import zlib
from collections.abc import Awaitable, Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bs4 import BeautifulSoup

from screenpop.fields import fold
from screenpop.wisphub.activation import (
    ActivationData,
    activation_payload,
    describe,
    merged_phones,
    public_fields,
)
from screenpop.wisphub.errors import WispHubApiError, WispHubBadResponse, WispHubError
from screenpop.wisphub.http import is_html
from screenpop.wisphub.panel import PanelClient
from screenpop.wisphub.panel_forms import form_errors, parse_form, require
from screenpop.wisphub.rest import RestClient
from screenpop.wisphub.write_errors import WriteOutcomeUnknown, WriteRejected

INSTALLATIONS_PATH = "Instalaciones/"
# the only documented "add a service" routes (wisphub-api.md §2); anything else is done by hand
SERVICE_ROUTES = {"tv": "agregar-servicio-television/", "phone": "agregar-servicio-telefonia/"}
TASK_DONE = ("SUCCESS",)
TASK_FAILED = ("FAILURE", "REVOKED", "ERROR")
ERROR_LEVEL = 40  # django.contrib.messages.ERROR
# the activation's redirect is not documented (wisphub-panel.md §9.2): either list
ACTIVATION_SUCCESS = ("/Instalaciones", "/instalaciones", "/preinstalaciones/")
REFUSALS = {400: "la petición no es válida (400)", 403: "el usuario del panel no tiene permiso (403)",
            404: "WispHub no encontró el registro (404)", 405: "WispHub no permite esa acción (405)",
            409: "WispHub lo rechazó por un conflicto (409)", 422: "WispHub no pudo procesarlo (422)"}


@dataclass(frozen=True)
class Done:
    """A write WispHub confirmed: its reference and what was sent (no secrets)."""
    reference: str
    sent: dict[str, Any]
    answer: str


@dataclass(frozen=True)
class Document:
    username: str
    title: str
    description: str      # carries the file's hash marker, so a re-send can find it
    filename: str
    mime: str
    marker: str
    visible: bool = False


def _rejected(what: str, reasons: list[str]) -> WriteRejected:
    shown = "; ".join(reasons[:5]) or "sin detalle"
    return WriteRejected(f"WispHub rechazó {what}: {shown}", reasons)


class NotAClientYet(WriteRejected):
    """The REST profile exists only for clients; this record is not one yet."""


PROFILE_LABELS = {"nombre": "nombre", "apellidos": "apellidos", "email": "correo",
                  "direccion": "dirección", "localidad": "colonia", "ciudad": "ciudad",
                  "cedula": "identificación", "telefono": "teléfonos",
                  "informacion_adicional": "información adicional"}


def _spanish(exc: BaseException) -> str:
    return str(exc).split(" / ")[0]


def merged_profile(current: dict[str, Any], captured: dict[str, Any]) -> dict[str, str]:
    """The profile fields to set: captured values, WispHub's phones plus the captured ones,
    WispHub's additional information plus ours."""
    wanted = {k: str(v) for k, v in (captured.get("set") or {}).items()}
    phones = merged_phones(str(current.get("telefono") or ""), tuple(captured.get("add_phones") or ()))
    if phones != str(current.get("telefono") or ""):
        wanted["telefono"] = phones
    info, ours = str(current.get("informacion_adicional") or ""), str(captured.get("append_info") or "")
    if ours and ours not in info:
        wanted["informacion_adicional"] = f"{info.rstrip()}. {ours}" if info.strip() else ours
    return wanted


def _carried(new: WispHubError, old: WispHubError) -> WispHubError:
    new.sent, new.answer = old.sent, old.answer or str(old)
    return new


@contextmanager
def _audited(response, sent: dict[str, str]):
    """A refusal read from `response` carries what was posted and what WispHub answered."""
    try:
        yield
    except WispHubError as exc:
        exc.sent = public_fields(sent)
        exc.answer = f"HTTP {response.status_code} {response.headers.get('location', '')}".strip()
        raise


def _messages_cookie(response) -> list[tuple[int, str]]:
    """(level, text) of the Django messages set on a redirect (cookie storage: signed JSON,
    maybe zlib-compressed; `hash$json` in old Django). Unreadable → none."""
    raw = next((c.split("=", 1)[1].split(";", 1)[0] for c in response.headers.get_list("set-cookie")
                if c.strip().startswith("messages=")), "")
    raw = raw.strip('"').encode().decode("unicode_escape") if raw else ""
    if not raw:
        return []
    try:
        if "$" in raw.split(":", 1)[0] and raw.split("$", 1)[1].startswith("["):
            data = json.loads(raw.split("$", 1)[1])
        else:
            payload = raw.rsplit(":", 1)[0]
            compressed = payload.startswith(".")
            decoded = base64.urlsafe_b64decode(payload.lstrip(".") + "=" * (-len(payload.lstrip(".")) % 4))
            data = json.loads(zlib.decompress(decoded) if compressed else decoded)
    except (ValueError, zlib.error, UnicodeDecodeError, IndexError):
        return []
    return [(int(m[2]), str(m[3])) for m in data
            if isinstance(m, list) and len(m) >= 4 and m[0] == "__json_message"]


def _answered(response, what: str, success: tuple[str, ...], form_path: str) -> str:
    """The Location of the documented success redirect with no Django error message; a 200
    re-render is a refusal with its errors, a 4xx a refusal with its reason, anything else
    an outcome to look up."""
    status = response.status_code
    if status in (301, 302, 303):
        location = response.headers.get("location", "")
        path = urlsplit(location).path
        errors = [text for level, text in _messages_cookie(response) if level >= ERROR_LEVEL]
        if errors:
            raise _rejected(what, errors)
        if path.startswith(success) and not path.startswith(form_path):
            return location
        raise WriteOutcomeUnknown(f"WispHub respondió a {what} con una redirección que no es la "
                                  f"de éxito / unexpected redirect to {location!r}")
    if status == 200:
        raise _rejected(what, form_errors(response.text))
    if status in REFUSALS:
        reasons = form_errors(response.text) if is_html(response) else []
        raise _rejected(what, reasons or [REFUSALS[status]])
    raise WriteOutcomeUnknown(f"WispHub respondió HTTP {status} a {what} / unexpected answer")


class WispHubWriter:
    def __init__(self, rest: RestClient, panel: PanelClient, *, task_deadline: float = 60.0,
                 task_interval: float = 1.0) -> None:
        self.rest = rest
        self.panel = panel
        self.task_deadline = task_deadline
        self.task_interval = task_interval

    # --- activation ----------------------------------------------------------------------------

    async def preview_activation(self, data: ActivationData) -> list[dict[str, object]]:
        """Exactly what an activation would send now, as labels and option names (token and
        passwords masked)."""
        form = parse_form(await self.panel.get_page(data.path), "form#agregar-cliente")
        return describe(form, activation_payload(form, data))

    async def activate(self, data: ActivationData) -> Done:
        response, sent = await self.panel.submit_form(
            data.path, lambda html: activation_payload(parse_form(html, "form#agregar-cliente"), data))
        with _audited(response, sent):
            location = _answered(response, "la activación", ACTIVATION_SUCCESS,
                                 "/preinstalacion/activar/")
        return Done(f"Instalación {data.service_id}", public_fields(sent),
                    f"HTTP {response.status_code} → {location}")

    async def activation_done(self, data: ActivationData) -> str | None:
        """WispHub's reference when the preinstallation is already an installation (or, once
        the installation was activated, a client), None when it is still pending; raises when
        it is in none of them, for a person to resolve."""
        pending = await self.panel.pending_rows()
        if any(row.id == data.service_id for row in pending):
            return None
        if data.service_id in await self.installation_ids():
            return f"Instalación {data.service_id}"
        clients = await self.rest.get_json("clientes/", {"id_servicio": data.service_id})
        rows = clients.get("results") if isinstance(clients, dict) else None
        if isinstance(rows, list) and any(str(r.get("id_servicio")) == data.service_id for r in rows):
            return f"Cliente {data.service_id}"
        raise WispHubBadResponse(
            f"la preinstalación {data.service_id} ya no está pendiente, ni entre las instalaciones "
            "ni entre los clientes que WispHub lista; búsquela en WispHub e indique si quedó "
            "activada / neither pending, installed nor a client")

    async def installation_ids(self) -> set[str]:
        soup = BeautifulSoup(await self.panel.get_page(INSTALLATIONS_PATH), "html.parser")
        table = soup.select_one("table#lista-instalaciones")
        if table is None:
            raise WispHubBadResponse("la lista /Instalaciones/ ya no tiene table#lista-instalaciones")
        ids = set()
        for tr in (table.find("tbody") or table).find_all("tr"):
            cells = tr.find_all("td", recursive=False)
            if len(cells) > 1:
                ids.add(cells[0].get_text().strip())
        return ids

    # --- documents -----------------------------------------------------------------------------

    async def upload_document(self, doc: Document, content: bytes) -> Done:
        path = f"clientes/agregar-documento/{doc.username}/"
        fields = {"titulo": doc.title, "descripcion": doc.description}
        if doc.visible:
            fields["visible"] = "on"

        def fill(html: str) -> dict[str, str]:
            form = parse_form(html, "form", label="documentos")
            for name in ("titulo", "descripcion", "archivo"):
                require(form, name, name)
            return dict(fields)

        response, sent = await self.panel.submit_form(
            path, fill, files={"archivo": (doc.filename, content, doc.mime)})
        with _audited(response, sent):
            location = _answered(response, f"el documento «{doc.title}»",
                                 (f"/clientes/ver/{doc.username}/",), "/clientes/agregar-documento/")
        if await self.document_listed(doc.username, doc.marker) is None:
            raise WriteOutcomeUnknown(
                f"WispHub aceptó «{doc.title}» pero aún no aparece en los archivos del cliente; se "
                "comprobará antes de volver a enviarlo / accepted, not listed yet")
        return Done(f"Documento «{doc.title}»",
                    {**sent, "archivo": f"{doc.filename} ({len(content)} bytes, {doc.mime})"},
                    f"HTTP {response.status_code} → {location}; visto en la ficha del cliente")

    async def document_listed(self, username: str, marker: str) -> str | None:
        html = await self.panel.get_page(f"clientes/ver/{username}/")
        return "Documento ya en WispHub" if marker in html else None

    # --- REST: profile, services, tasks ------------------------------------------------------------

    async def save_profile(self, service_id: str, captured: dict[str, Any]) -> Done:
        """Read the client's profile, PUT it back with what the call captured (phones added,
        extra information appended), then read it again: only what WispHub kept is "done"."""
        path = f"clientes/{service_id}/perfil/"
        current = await self._profile(service_id)
        body = {k: v for k, v in current.items() if isinstance(v, str)}
        body.update(merged_profile(current, captured))
        try:
            await self.rest.write_json("PUT", path, body)
        except WispHubApiError as exc:
            raise _carried(_rejected("los datos", [_spanish(exc)]), exc) from None
        wanted = merged_profile(current, captured)
        stored = await self._profile(service_id)
        lost = [PROFILE_LABELS.get(k, k) for k, v in wanted.items() if str(stored.get(k, "")) != v]
        if lost:
            raise _rejected("los datos", [f"no guardó {', '.join(lost)}"])
        return Done("Datos guardados en WispHub", body, "leído de vuelta: igual a lo enviado")

    async def profile_saved(self, service_id: str, captured: dict[str, Any]) -> str | None:
        current = await self._profile(service_id)
        wanted = merged_profile(current, captured)
        same = all(str(current.get(k, "")) == v for k, v in wanted.items())
        return "Datos ya en WispHub" if same else None

    async def _profile(self, service_id: str) -> dict[str, Any]:
        try:
            body = await self.rest.get_json(f"clientes/{service_id}/perfil/")
        except WispHubApiError as exc:
            if exc.status == 404:
                raise NotAClientYet(
                    "WispHub todavía no tiene a este cliente (la preinstalación no se ha activado, "
                    "o su instalación aún no se activa): los datos capturados se envían con la "
                    "activación; guárdelos después de que el técnico active la instalación / "
                    "no client record yet") from None
            raise _rejected("los datos", [_spanish(exc)]) from None
        if not isinstance(body, dict):
            raise WispHubBadResponse("el perfil del cliente no vino como se esperaba / bad profile")
        return body

    async def add_service(self, service_id: str, kind: str, name: str, price: str, *,
                          on_task: Callable[[str], Awaitable[None]] | None = None) -> Done:
        path = SERVICE_ROUTES[kind]
        body = {"servicio": int(service_id), "nombre": name, "precio": price}
        try:
            answer = await self.rest.write_json("POST", path, body)
        except WispHubApiError as exc:
            raise _carried(_rejected(f"el servicio {name}", [_spanish(exc)]), exc) from None
        task_id = answer.get("task_id") if isinstance(answer, dict) else None
        if task_id:
            if on_task is not None:
                await on_task(str(task_id))
            result = await self.wait_task(str(task_id), f"el servicio {name}")
            return Done(name, body, f"tarea {task_id}: {str(result)[:300]}")
        return Done(name, body, str(answer)[:300])

    async def service_listed(self, service_id: str, name: str) -> str | None:
        async for row in self.rest.paginate("servicios-adicionales/", {"servicio": service_id}):
            same_client = str(row.get("servicio")) == str(service_id)
            if same_client and fold(str(row.get("nombre", ""))) == fold(name):
                return f"{name} ya en WispHub"
        return None

    async def wait_task(self, task_id: str, what: str) -> Any:
        """The result of a task polled until it ends; WriteRejected on failure, and
        WriteOutcomeUnknown when the deadline passes first (the task may still finish)."""
        deadline = time.monotonic() + self.task_deadline
        while True:
            try:
                status, result = await self.rest.task_status(task_id)
            except WispHubError:
                status, result = "UNREACHABLE", None
            if status in TASK_DONE:
                return result
            if status in TASK_FAILED:
                raise _rejected(what, [str(result or "WispHub no terminó la tarea")])
            if time.monotonic() >= deadline:
                raise WriteOutcomeUnknown(f"WispHub sigue procesando {what} tras "
                                          f"{self.task_deadline:.0f} s / task {task_id} still {status}")
            await asyncio.sleep(self.task_interval)
