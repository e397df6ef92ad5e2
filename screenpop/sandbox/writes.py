"""What the pop writes to the sandbox: the activation form, installations, client documents
(panel, Django-style CSRF and 302-on-success) and the REST profile/service routes whose
background tasks go PENDING → SUCCESS | FAILURE."""
from __future__ import annotations

import base64
import json
import re
import uuid
import zlib
from datetime import datetime
from typing import Any

from aiohttp import web

from screenpop.sandbox import pages, write_pages
from screenpop.sandbox.panel import _html, _same_origin, current_user, to_login
from screenpop.sandbox.rest import page
from screenpop.sandbox.state import STATE, SandboxState

DOCUMENT_REFUSED = "El archivo no se pudo guardar: el formato no es válido."
_DATE = re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}$")
REQUIRED = {"usr-first_name": "nombre", "usr-last_name": "apellidos", "perfil-telefono": "teléfono",
            "cliente-cliente_rb": "nombre en el router", "cliente-router_cliente": "router",
            "cliente-ap_cliente": "AP", "cliente-plan_internet": "plan"}
PROFILE_FIELDS = ("nombre", "apellidos", "email", "cedula", "telefono", "direccion", "localidad",
                  "ciudad", "informacion_adicional")


def _zones(state: SandboxState) -> tuple[tuple[str, str], ...]:
    names = [z["nombre"] for z in state.store.zones]
    names += [r["zona"] for r in state.store.preinstallations.values()
              if r.get("zona") and r["zona"] not in names]
    return tuple((str(i + 1), name) for i, name in enumerate(dict.fromkeys(names)))


def free_ips(state: SandboxState, zone: str) -> list[str]:
    """WispHub computes the free IPs per zone; a page without a zone lists none."""
    if not zone.isdigit():
        return []
    pool = [f"10.20.{zone}.{n}" for n in range(10, 40)]
    return [ip for ip in pool if ip not in state.store.used_ips][:5]


def django_messages(messages: list[tuple[int, str]]) -> str:
    """Django's cookie message storage: signed, compressed JSON (the signature is not checked
    by readers of the redirect, so a fixed one stands in)."""
    data = json.dumps([["__json_message", 0, level, text] for level, text in messages],
                      separators=(",", ":")).encode()
    return "." + base64.urlsafe_b64encode(zlib.compress(data)).decode().rstrip("=") + ":sandbox"


def _csrf_ok(request: web.Request, state: SandboxState, token: Any) -> bool:
    cookie = request.cookies.get("csrftoken")
    fresh = state.faults.take("panel", request.path, method=request.method, kinds=("csrf_stale",)) is None
    return (fresh and bool(cookie) and cookie in state.csrf_tokens and token == cookie
            and _same_origin(request))


def _initial(record: dict[str, Any], zones) -> dict[str, str]:
    phones = ",".join(p for p in (record.get("phone_number"), record.get("aditional_phone_number")) if p)
    zone = next((v for v, t in zones if t == record.get("zona")), "")
    return {"usr-first_name": record.get("firstname", ""), "usr-last_name": record.get("lastname", ""),
            "usr-email": record.get("email", ""), "perfil-cedula": record.get("dni", ""),
            "perfil-cp": record.get("postal_code", ""), "perfil-direccion": record.get("address", ""),
            "perfil-localidad": record.get("location", ""), "perfil-ciudad": record.get("city", ""),
            "perfil-telefono": phones, "cliente-coordenadas": record.get("coordenadas", ""),
            "cliente-fecha_registro": record.get("fecha_registro", ""),
            "cliente-comentarios": record.get("commentaries", ""), "cliente-zona_cliente": zone,
            "cliente-estado_instalacion": "1"}


def _errors(form: dict[str, str], state: SandboxState, zones) -> dict[str, str]:
    errors = {name: "Este campo es obligatorio." for name in REQUIRED if not form.get(name, "").strip()}
    if form.get("cliente-ip") not in free_ips(state, form.get("cliente-zona_cliente", "")):
        errors["cliente-ip"] = "La IP no está disponible en esta zona."
    if not _DATE.match(form.get("cliente-fecha_instalacion", "")):
        errors["cliente-fecha_instalacion"] = "Introduzca una fecha y hora válidas (DD/MM/AAAA HH:MM)."
    checks = {"cliente-zona_cliente": zones, "cliente-plan_internet": write_pages.PLANS,
              "cliente-router_cliente": write_pages.ROUTERS, "cliente-ap_cliente": write_pages.APS,
              "cliente-estado_instalacion": write_pages.ESTADOS}
    for name, options in checks.items():
        if form.get(name) and form[name] not in dict(options):
            errors[name] = "Escoja una opción válida. Esa opción no está entre las disponibles."
    if not form.get("cliente-zona_cliente"):
        errors["cliente-zona_cliente"] = "Este campo es obligatorio."
    return errors


async def activation(request: web.Request) -> web.Response:
    state = request.app[STATE]
    user = current_user(request) or to_login(request)
    sid = int(request.match_info["id"])
    record = state.store.preinstallations.get(sid)
    if record is None or record["usuario"] != request.match_info["usuario"]:
        raise web.HTTPNotFound(text=pages.nginx_404(), content_type="text/html")
    zones = _zones(state)
    drop = "cliente-ap_cliente" if state.faults.take("panel", request.path, method=request.method,
                                                      kinds=("form_changed",)) else None
    if request.method == "GET":
        initial = _initial(record, zones)
        return _html(write_pages.activation_page(initial, zones,
                                                 free_ips(state, initial["cliente-zona_cliente"]),
                                                 request.cookies.get("csrftoken", ""), user, drop=drop))
    posted = await request.post()
    if not _csrf_ok(request, state, posted.get("csrfmiddlewaretoken")):
        return _html(pages.csrf_failure(), 403)
    form = {k: v for k, v in posted.items() if isinstance(v, str)}
    errors = _errors(form, state, zones)
    if errors:
        return _html(write_pages.activation_page(form, zones,
                                                 free_ips(state, form.get("cliente-zona_cliente", "")),
                                                 request.cookies.get("csrftoken", ""), user,
                                                 errors=errors))
    state.store.used_ips.add(form["cliente-ip"])
    del state.store.preinstallations[sid]
    state.store.installations[sid] = {**form, "id_servicio": sid, "usuario": record["usuario"],
                                      "zona": dict(zones)[form["cliente-zona_cliente"]],
                                      "activada": datetime.now().strftime("%d/%m/%Y %H:%M")}
    state.store.installations[sid].pop("csrfmiddlewaretoken", None)
    return web.Response(status=302, headers={"Location": "/Instalaciones/"})


async def installations(request: web.Request) -> web.Response:
    user = current_user(request) or to_login(request)
    rows = list(request.app[STATE].store.installations.values())
    return _html(write_pages.installations_page(rows, user))


def _known_user(state: SandboxState, usuario: str) -> bool:
    return any(r["usuario"] == usuario for r in (*state.store.preinstallations.values(),
                                                 *state.store.installations.values(),
                                                 *state.store.clients))


async def add_document(request: web.Request) -> web.Response:
    state = request.app[STATE]
    user = current_user(request) or to_login(request)
    usuario = request.match_info["usuario"]
    if not _known_user(state, usuario):
        raise web.HTTPNotFound(text=pages.nginx_404(), content_type="text/html")
    token = request.cookies.get("csrftoken", "")
    if request.method == "GET":
        return _html(write_pages.document_form(usuario, token, user))
    posted = await request.post()
    if not _csrf_ok(request, state, posted.get("csrfmiddlewaretoken")):
        return _html(pages.csrf_failure(), 403)
    upload = posted.get("archivo")
    if not isinstance(upload, web.FileField) or not upload.filename:
        return _html(write_pages.document_form(usuario, token, user, "Este campo es obligatorio."))
    content = upload.file.read()
    refused = state.faults.take("panel", request.path, method=request.method, kinds=("document_refused",))
    if refused is not None:  # Django redirects with an error message and keeps nothing
        response = web.Response(status=302, headers={"Location": f"/clientes/ver/{usuario}/"})
        response.set_cookie("messages", django_messages([(40, DOCUMENT_REFUSED)]), path="/")
        return response
    state.store.documents.setdefault(usuario, []).append({
        "titulo": str(posted.get("titulo", "")), "descripcion": str(posted.get("descripcion", "")),
        "filename": upload.filename, "content_type": upload.content_type, "size": len(content),
        "visible": posted.get("visible") == "on"})
    return web.Response(status=302, headers={"Location": f"/clientes/ver/{usuario}/"})


async def client_view(request: web.Request) -> web.Response:
    state = request.app[STATE]
    user = current_user(request) or to_login(request)
    usuario = request.match_info["usuario"]
    if not _known_user(state, usuario):
        raise web.HTTPNotFound(text=pages.nginx_404(), content_type="text/html")
    return _html(write_pages.client_page(usuario, state.store.documents.get(usuario, []), user))


# --- REST ---------------------------------------------------------------------------------------

def _client(state: SandboxState, sid: str) -> dict[str, Any] | None:
    """The REST profile exists for clients only; an installation becomes one when the
    technician's "Activar instalación" pushes it to the client list (wisphub-panel.md §6)."""
    return next((c for c in state.store.clients if str(c["id_servicio"]) == sid), None)


async def profile(request: web.Request) -> web.Response:
    state = request.app[STATE]
    row = _client(state, request.match_info["id"])
    if row is None:
        return web.json_response({"detail": "No encontrado."}, status=404)
    if request.method == "PUT":
        body = await request.json()
        row.update({k: str(v) for k, v in body.items() if k in PROFILE_FIELDS})
    return web.json_response({"id_servicio": row["id_servicio"],
                              **{k: row.get(k, "") for k in PROFILE_FIELDS}})


async def patch_service(request: web.Request) -> web.Response:
    """PATCH /clientes/{id}/ echoes what it does not persist (`estado`, and `coordenadas`,
    which is not among the writable fields known: wisphub-api.md §2)."""
    state = request.app[STATE]
    row = _client(state, request.match_info["id"])
    if row is None:
        return web.json_response({"detail": "No encontrado."}, status=404)
    body = await request.json()
    return web.json_response({**row, **body})


def _service_owner(state: SandboxState, value: Any) -> bool:
    return _client(state, str(value)) is not None or (
        str(value).isdigit() and int(value) in state.store.installations)


async def add_service(request: web.Request) -> web.Response:
    state = request.app[STATE]
    body = await request.json()
    if not _service_owner(state, body.get("servicio", "")):
        return web.json_response({"servicio": ["No existe el servicio indicado."]}, status=400)
    task_id = str(uuid.uuid4())
    failing = state.faults.take("api", request.path, method=request.method, kinds=("task_failure",)) is not None
    state.store.tasks[task_id] = {"polls": 0, "fail": failing, "status": "PENDING",
                                  "service": {"servicio": int(body["servicio"]),
                                              "nombre": str(body.get("nombre", "")),
                                              "precio": str(body.get("precio", "")),
                                              "ruta": request.path}}
    return web.json_response({"task_id": task_id}, status=202)


async def toggle_service(request: web.Request) -> web.Response:
    """`servicio-adicional/{accion}/` enables or disables an existing additional service; it
    never creates one (its body is undocumented: anything else is refused)."""
    if request.match_info["accion"] not in ("activar", "desactivar"):
        return web.json_response({"detail": "No encontrado."}, status=404)
    body = await request.json()
    services = request.app[STATE].store.services
    found = next((x for x in services if str(x["id"]) == str(body.get("id", ""))), None)
    if found is None:
        return web.json_response({"id": ["No existe el servicio adicional indicado."]}, status=400)
    found["activo"] = request.match_info["accion"] == "activar"
    return web.json_response(found)


async def task(request: web.Request) -> web.Response:
    store = request.app[STATE].store
    found = store.tasks.get(request.match_info["task_id"])
    if found is None:
        return web.json_response({"detail": "No encontrado."}, status=404)
    found["polls"] += 1
    if found["status"] == "PENDING" and found["polls"] >= 2:
        if found["fail"]:
            found["status"], found["result"] = "FAILURE", "El router no respondió al agregar el servicio."
        else:
            found["status"] = "SUCCESS"
            store.services.append({"id": len(store.services) + 1, **found["service"]})
    return web.json_response({"task": {"status": found["status"], "result": found.get("result")}})


async def services_list(request: web.Request) -> web.Response:
    return page(request, request.app[STATE].store.services)


def add_routes(app: web.Application) -> None:
    app.router.add_route("*", "/preinstalacion/activar/{usuario}/{id:\\d+}/", activation)
    app.router.add_get("/Instalaciones/", installations)
    app.router.add_route("*", "/clientes/agregar-documento/{usuario}/", add_document)
    app.router.add_get("/clientes/ver/{usuario}/", client_view)
    app.router.add_route("*", "/api/clientes/{id:\\d+}/perfil/", profile)
    app.router.add_patch("/api/clientes/{id:\\d+}/", patch_service)
    for path in ("/api/agregar-servicio-television/", "/api/agregar-servicio-telefonia/"):
        app.router.add_post(path, add_service)
    app.router.add_post("/api/servicio-adicional/{accion}/", toggle_service)
    app.router.add_get("/api/tasks/{task_id}/", task)
    app.router.add_get("/api/servicios-adicionales/", services_list)
