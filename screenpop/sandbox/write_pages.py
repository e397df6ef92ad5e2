"""HTML of the panel pages the write-back uses: activation form, installations list, client
files and the "Agregar archivo" form (wisphub-panel.md §4–§6), in WispHub's markup style."""
from __future__ import annotations

from html import escape
from typing import Any

from screenpop.sandbox.pages import _chrome

ROUTERS = (("11", "RB SUR"), ("12", "RB NORTE"), ("13", "RB CENTRO"))
APS = (("21", "Sectorial Sur 1"), ("22", "Sectorial Norte 1"), ("23", "NAP Centro 4"))
# WispHub shows speed and price; the demo tenant also names the plans as the shipped provider
# example does, so the demo activates without a plan mapping
PLANS = (("1", "10 MEGAS 350 · Básico Inalámbrico"), ("2", "20 MEGAS 450 · Intermedio Inalámbrico"),
         ("3", "50 MEGAS 650 · Alto Rendimiento Inalámbrico"), ("6", "FIBRA 50 MEGAS 399 · Básico Fibra"),
         ("4", "FIBRA 100 MEGAS 700 · Intermedio Fibra"), ("5", "FIBRA 300 MEGAS 950 · Alto Rendimiento Fibra"))
STAFF = (("31", "tecnico1@isp-demo · Pedro Técnico"), ("32", "asesor1@isp-demo · Laura Asesora"))
ESTADOS = (("1", "Nueva"), ("2", "En progreso"), ("7", "Pendiente"), ("8", "Planificación"),
           ("3", "Activada"), ("4", "Terminada"))
FORMAS = (("pagina_internet", "Página Internet"), ("oficina", "Oficina"),
          ("telefono", "Llamada telefónica"))
TEXT_FIELDS = ("usr-first_name", "usr-last_name", "usr-email", "perfil-cedula", "perfil-direccion",
               "perfil-localidad", "perfil-ciudad", "perfil-telefono", "perfil-external_id",
               "cliente-coordenadas", "cliente-fecha_registro", "cliente-fecha_instalacion",
               "cliente-costo_instalacion", "cliente-cliente_rb", "cliente-ip", "cliente-mac_cpe",
               "cliente-external_id", "cliente-sn_onu", "perfil-rfc", "perfil-cp")


LABELS = {"usr-first_name": "Nombre", "usr-last_name": "Apellidos", "usr-email": "Correo",
          "perfil-cedula": "DNI/C.I./C.C.", "perfil-direccion": "Dirección",
          "perfil-localidad": "Barrio/Localidad", "perfil-ciudad": "Ciudad/Municipio",
          "perfil-telefono": "Teléfono celular", "perfil-external_id": "Id externo",
          "cliente-coordenadas": "Coordenadas", "cliente-fecha_registro": "Fecha de registro",
          "cliente-fecha_instalacion": "Fecha de instalación",
          "cliente-costo_instalacion": "Costo instalación",
          "cliente-cliente_rb": "Nombre (Simple Queue/Secrets/Users/Hotspot)", "cliente-ip": "Ip",
          "cliente-mac_cpe": "Mac Cpe", "cliente-external_id": "Id externo del servicio",
          "cliente-sn_onu": "SN ONU", "perfil-rfc": "RFC", "perfil-cp": "Código postal",
          "cliente-comentarios": "Comentarios", "cliente-zona_cliente": "Zona",
          "cliente-router_cliente": "Router cliente", "cliente-ap_cliente": "Ap cliente",
          "cliente-plan_internet": "Plan internet", "cliente-tecnico": "Técnico",
          "cliente-creado_por": "Asesor", "cliente-estado_instalacion": "Estado instalación",
          "cliente-forma_contratacion": "Forma de contratación"}


def _label(name: str) -> str:
    return f'<label for="id_{name}" class="control-label">{escape(LABELS[name])}</label>'


def _select(name: str, options: tuple[tuple[str, str], ...], selected: str = "") -> str:
    items = "".join(f'<option value="{escape(v)}"{" selected" if v == selected else ""}>'
                    f"{escape(t)}</option>" for v, t in options)
    return (f'{_label(name)}<select name="{name}" id="id_{name}" class="form-control">'
            f'<option value="">---------</option>{items}</select>')


def _input(name: str, value: str) -> str:
    return (f'<div class="form-group">{_label(name)}<input type="text" name="{name}" id="id_{name}" '
            f'class="form-control" value="{escape(value)}"></div>')


def activation_page(values: dict[str, str], zones: tuple[tuple[str, str], ...], free_ips: list[str],
                    csrf: str, user: str, *, errors: dict[str, str] | None = None,
                    drop: str | None = None) -> str:
    errors = errors or {}
    parts = [f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(csrf)}">']
    for name in TEXT_FIELDS:
        parts.append(_input(name, values.get(name, "")))
        if name in errors:
            parts.append(f'<ul class="errorlist"><li>{escape(errors[name])}</li></ul>')
    parts.append(_label("cliente-comentarios") + '<textarea name="cliente-comentarios" id="id_cliente-comentarios">'
                 f'{escape(values.get("cliente-comentarios", ""))}</textarea>')
    selects = {"cliente-zona_cliente": zones, "cliente-router_cliente": ROUTERS,
               "cliente-ap_cliente": APS, "cliente-plan_internet": PLANS, "cliente-tecnico": STAFF,
               "cliente-creado_por": STAFF, "cliente-estado_instalacion": ESTADOS,
               "cliente-forma_contratacion": FORMAS}
    for name, options in selects.items():
        if name != drop:
            parts.append(_select(name, options, values.get(name, "")))
            if name in errors:
                parts.append(f'<ul class="errorlist"><li>{escape(errors[name])}</li></ul>')
    parts.append('<input type="hidden" name="perfil-retenciones" value="0.00">'
                 '<input type="file" name="archivo_ine" id="id_archivo_ine">'
                 '<button type="submit" class="btn btn-primary">Activar</button>')
    ips = "".join(f'<li><a href="#" class="ip-libre">{escape(ip)}</a></li>' for ip in free_ips)
    body = (f'<form id="agregar-cliente" class="validate-form form" method="post" '
            f'enctype="application/x-www-form-urlencoded">{"".join(parts)}</form>'
            f'<div id="popover-ips-disponibles" class="hidden"><ul>{ips}</ul></div>')
    return _chrome("Activar preinstalación", body, user)


def installations_page(rows: list[dict[str, Any]], user: str) -> str:
    states = dict(ESTADOS)
    body = "".join(
        f'<tr><td>{r["id_servicio"]}</td><td>{escape(r.get("usr-first_name", ""))} '
        f'{escape(r.get("usr-last_name", ""))}</td><td>{escape(r.get("perfil-localidad", ""))}</td>'
        f'<td>{escape(r.get("cliente-coordenadas", ""))}</td>'
        f'<td>{escape(r.get("perfil-direccion", ""))}</td>'
        f'<td><span class="label estado-instalacion-{r.get("cliente-estado_instalacion")} label-info">'
        f' {escape(states.get(r.get("cliente-estado_instalacion", ""), ""))} </span></td>'
        f'<td class="text-right"><a class="btn btn-xs" href="/Instalaciones/editar/'
        f'{escape(r["usuario"])}/{r["id_servicio"]}/">Editar</a></td></tr>' for r in rows)
    table = ('<table id="lista-instalaciones" class="table dataTable"><thead><tr><th>Id</th>'
             '<th>Cliente</th><th>Barrio/Localidad</th><th>Coordenadas</th><th>Dirección</th>'
             f'<th>Estado</th><th>Acción</th></tr></thead><tbody>{body}</tbody></table>')
    return _chrome("Instalaciones", table, user)


def document_form(usuario: str, csrf: str, user: str, error: str | None = None) -> str:
    err = f'<ul class="errorlist"><li>{escape(error)}</li></ul>' if error else ""
    body = (f'<form method="post" enctype="multipart/form-data">{err}'
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(csrf)}">'
            '<input type="text" name="titulo" id="id_titulo">'
            '<textarea name="descripcion" id="id_descripcion"></textarea>'
            '<input type="file" name="archivo" id="id_archivo">'
            '<input type="checkbox" name="visible" id="id_visible">'
            '<button type="submit">Guardar</button></form>')
    return _chrome(f"Agregar archivo · {usuario}", body, user)


def client_page(usuario: str, files: list[dict[str, Any]], user: str) -> str:
    rows = "".join(f'<tr><td>{escape(f["titulo"])}</td><td>{escape(f["descripcion"])}</td>'
                   f'<td><a href="/media/documentos/{escape(f["filename"])}">{escape(f["filename"])}'
                   "</a></td></tr>" for f in files)
    body = (f'<ul class="nav nav-tabs"><li><a href="#retab6">Subir Archivos</a></li></ul>'
            f'<div id="retab6" class="tab-pane"><table class="table"><tbody>{rows}</tbody></table>'
            f'<a href="/clientes/agregar-documento/{escape(usuario)}/">Agregar archivo</a></div>')
    return _chrome(usuario, body, user)
