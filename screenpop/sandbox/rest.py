"""The REST routes of WispHub's API that this project uses, as WispHub's DRF answers them."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from screenpop.sandbox.state import STATE, SandboxState

DEFAULT_PAGE_SIZE = 20
_ESTADOS = {"1": "Activo", "2": "Suspendido", "3": "Cancelado", "4": "Gratis"}


def _int(value: str | None, default: int) -> int | None:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        return None
    return number if number >= 0 else None


def page(request: web.Request, rows: list[dict[str, Any]]) -> web.Response:
    """DRF LimitOffsetPagination, including its absolute `http://` next/previous links."""
    limit = _int(request.query.get("limit"), DEFAULT_PAGE_SIZE)
    offset = _int(request.query.get("offset"), 0)
    if limit is None or offset is None:
        limit, offset = DEFAULT_PAGE_SIZE, 0  # DRF falls back to defaults on junk values
    limit = limit or DEFAULT_PAGE_SIZE
    base = f"http://{request.host}{request.path}"
    others = "".join(f"&{k}={v}" for k, v in request.query.items() if k not in ("limit", "offset"))
    nxt = f"{base}?limit={limit}&offset={offset + limit}{others}" if offset + limit < len(rows) else None
    prev = (f"{base}?limit={limit}&offset={max(0, offset - limit)}{others}" if offset > 0 else None)
    return web.json_response({"count": len(rows), "next": nxt, "previous": prev,
                              "results": rows[offset:offset + limit]})


def _filter_clients(state: SandboxState, query) -> list[dict[str, Any]]:
    rows = state.store.clients
    if "id_servicio" in query:
        rows = [r for r in rows if str(r["id_servicio"]) == query["id_servicio"]]
    if "telefono" in query:
        rows = [r for r in rows if r.get("telefono") == query["telefono"]]
    if "usuario" in query:
        rows = [r for r in rows if r.get("usuario") == query["usuario"]]
    if "nombre" in query:
        rows = [r for r in rows if query["nombre"].lower() in (r.get("nombre") or "").lower()]
    if "estado" in query:
        rows = [r for r in rows if r.get("estado") == _ESTADOS.get(query["estado"])]
    return rows  # unknown filters are ignored, as on WispHub


async def clientes(request: web.Request) -> web.Response:
    return page(request, _filter_clients(request.app[STATE], request.query))


async def cliente(request: web.Request) -> web.Response:
    sid = request.match_info["id"]
    row = next((r for r in request.app[STATE].store.clients if str(r["id_servicio"]) == sid), None)
    if row is None:
        return web.json_response({"detail": "No encontrado."}, status=404)
    detail = {k: v for k, v in row.items() if k not in ("telefono", "saldo", "estado_facturas")}
    detail.update(usuario=None, nombre=None, facturas_pagadas=True)
    return web.json_response(detail)


async def zonas(request: web.Request) -> web.Response:
    return page(request, request.app[STATE].store.zones)


async def solicitar_instalacion(request: web.Request) -> web.Response:
    if not request.content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        return web.json_response({"detail": f'Tipo de medio "{request.content_type}" no soportado.'},
                                 status=415)
    form = await request.post()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    files = [k for k, v in form.items() if isinstance(v, web.FileField) and v.filename]
    store = request.app[STATE].store
    errors = store.request_errors(fields)
    if errors:
        return web.json_response(errors, status=400)
    store.create_preinstallation(fields, files)
    return web.json_response({"detail": "Solicitud de instalación registrada correctamente."},
                             status=201)


async def instalaciones(request: web.Request) -> web.Response:
    return page(request, request.app[STATE].store.installation_rows())


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/clientes/", clientes)
    app.router.add_get("/api/instalaciones/", instalaciones)
    app.router.add_get("/api/clientes/{id:\\d+}/", cliente)
    app.router.add_get("/api/zonas/", zonas)
    app.router.add_post("/api/solicitar-instalacion/", solicitar_instalacion)
