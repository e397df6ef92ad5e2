"""The writes the pop makes to WispHub, each paired with a look at WispHub's state that tells
whether it already happened (used before re-sending after an unknown outcome).

Panel-only operations (wisphub-api.md §4): activating a preinstallation, uploading a document,
editing an installation. REST: the profile (`/clientes/{id}/perfil/`), add-on services (routes
answering a task id, polled to the end with a deadline).
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bs4 import BeautifulSoup

from screenpop.fields import fold
from screenpop.wisphub.activation import ActivationData, activation_payload, public_fields
from screenpop.wisphub.errors import WispHubApiError, WispHubBadResponse, WispHubError
from screenpop.wisphub.panel import PanelClient
from screenpop.wisphub.panel_forms import form_errors, parse_form, require
from screenpop.wisphub.panel_page import parse_preinstallation_list
from screenpop.wisphub.rest import RestClient
from screenpop.wisphub.write_errors import WriteOutcomeUnknown, WriteRejected

INSTALLATIONS_PATH = "Instalaciones/"
SERVICE_ROUTES = {"tv": "agregar-servicio-television/", "phone": "agregar-servicio-telefonia/"}
OTHER_SERVICE_ROUTE = "servicio-adicional/activar/"
TASK_DONE = ("SUCCESS",)
TASK_FAILED = ("FAILURE", "REVOKED", "ERROR")


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
    visible: bool = False


def _rejected(what: str, reasons: list[str]) -> WriteRejected:
    shown = "; ".join(reasons[:5]) or "sin detalle"
    return WriteRejected(f"WispHub rechazó {what}: {shown}", reasons)


def _redirected(response, what: str, away_from: str) -> str:
    """The Location of a success redirect; a 200 re-render is a refusal with Django errors."""
    if response.status_code in (301, 302, 303):
        location = response.headers.get("location", "")
        if away_from not in location:
            return location
    if response.status_code == 200:
        raise _rejected(what, form_errors(response.text))
    raise WriteOutcomeUnknown(f"WispHub respondió HTTP {response.status_code} a {what} / "
                              "unexpected answer")


class WispHubWriter:
    def __init__(self, rest: RestClient, panel: PanelClient, *, task_deadline: float = 60.0,
                 task_interval: float = 1.0) -> None:
        self.rest = rest
        self.panel = panel
        self.task_deadline = task_deadline
        self.task_interval = task_interval

    # --- activation ----------------------------------------------------------------------------

    async def preview_activation(self, data: ActivationData) -> dict[str, str]:
        """Exactly the fields an activation would send now (token and passwords masked)."""
        html = await self.panel.get_page(data.path)
        return public_fields(activation_payload(parse_form(html, "form#agregar-cliente"), data))

    async def activate(self, data: ActivationData) -> Done:
        response, sent = await self.panel.submit_form(
            data.path, lambda html: activation_payload(parse_form(html, "form#agregar-cliente"), data))
        location = _redirected(response, "la activación", "/preinstalacion/activar/")
        return Done(f"Instalación {data.service_id}", public_fields(sent),
                    f"HTTP {response.status_code} → {location}")

    async def activation_done(self, data: ActivationData) -> str | None:
        """WispHub's reference when the preinstallation is already an installation, None when
        it is still pending; raises when it is in neither list."""
        pending = parse_preinstallation_list(await self.panel.get_page("preinstalaciones/"))
        if any(row.id == data.service_id for row in pending):
            return None
        if data.service_id in await self.installation_ids():
            return f"Instalación {data.service_id}"
        raise WispHubBadResponse(f"la preinstalación {data.service_id} no está pendiente ni en "
                                 "instalaciones; revísela en WispHub / neither pending nor installed")

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
        location = _redirected(response, f"el documento «{doc.title}»", "/agregar-documento/")
        return Done(f"Documento «{doc.title}»",
                    {**sent, "archivo": f"{doc.filename} ({len(content)} bytes, {doc.mime})"},
                    f"HTTP {response.status_code} → {location}")

    async def document_listed(self, username: str, marker: str) -> str | None:
        html = await self.panel.get_page(f"clientes/ver/{username}/")
        return "Documento ya en WispHub" if marker in html else None

    # --- REST: profile, services, tasks ------------------------------------------------------------

    async def save_profile(self, service_id: str, profile: dict[str, str],
                           service: dict[str, str]) -> Done:
        """PUT the profile, then PATCH the service fields (location); both idempotent."""
        try:
            body = await self.rest.write_json("PUT", f"clientes/{service_id}/perfil/", profile)
            if service:
                await self.rest.write_json("PATCH", f"clientes/{service_id}/", service)
        except WispHubApiError as exc:
            raise _rejected("los datos", [str(exc)]) from None
        return Done(f"Perfil {service_id}", {**profile, **service}, str(body)[:300])

    async def add_service(self, service_id: str, kind: str, name: str, price: str, *,
                          on_task: Callable[[str], Awaitable[None]] | None = None) -> Done:
        path = SERVICE_ROUTES.get(kind, OTHER_SERVICE_ROUTE)
        body = {"servicio": int(service_id), "nombre": name, "precio": price}
        try:
            answer = await self.rest.write_json("POST", path, body)
        except WispHubApiError as exc:
            raise _rejected(f"el servicio {name}", [str(exc)]) from None
        task_id = answer.get("task_id") if isinstance(answer, dict) else None
        if task_id:
            if on_task is not None:
                await on_task(str(task_id))
            result = await self.wait_task(str(task_id), f"el servicio {name}")
            return Done(f"{name} (tarea {task_id})", body, str(result)[:300])
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
                raise _rejected(what, [f"la tarea {task_id} terminó en {status}: {result}"])
            if time.monotonic() >= deadline:
                raise WriteOutcomeUnknown(f"la tarea {task_id} de WispHub sigue en {status} tras "
                                          f"{self.task_deadline:.0f} s / task still running")
            await asyncio.sleep(self.task_interval)
