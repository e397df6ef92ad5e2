"""HTML the sandbox answers with, in the markup style of WispHub's panel and its edges
(Django/Bootstrap 3 pages, DataTables tables, nginx and Cloudflare error pages)."""
from __future__ import annotations

from html import escape
from typing import Any

DOCUMENT_LABELS = {"front_dni_proof": "INE frente", "back_dni_proof": "INE reverso",
                   "proof_of_address": "Comprobante de domicilio", "discount_coupon": "Cupón"}


def _chrome(title: str, body: str, user: str | None = None) -> str:
    menu = (f'<div class="user-menu"><span class="user-name">{escape(user)}</span></div>'
            if user else "")
    return (f"<!DOCTYPE html>\n<html lang=\"es\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)} | Sistema Para ISP</title>"
            f'<link rel="stylesheet" href="/static/css/bootstrap.min.css"></head>'
            f'<body class="skin-blue"><header class="navbar">{menu}</header>'
            f'<div id="content"><div class="page-header"><h1><span>{escape(title)}</span></h1></div>'
            f"{body}</div></body></html>\n")


def login_page(csrf: str, next_path: str, *, single_quotes: bool, error: str | None = None) -> str:
    csrf_input = (f"<input type='hidden' name='csrfmiddlewaretoken' value='{escape(csrf)}' />"
                  if single_quotes else
                  f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(csrf)}">')
    alert = f'<div class="alert alert-danger">{escape(error)}</div>' if error else ""
    body = (f'{alert}<form method="post" action="/accounts/login/" class="login-form">{csrf_input}'
            f'<input type="text" name="login" id="id_login" class="form-control" required>'
            f'<input type="password" name="password" id="id_password" class="form-control" required>'
            f'<input type="checkbox" name="remember" id="id_remember">'
            f'<input type="hidden" name="token_device" value=""><input type="hidden" name="name_device" value="">'
            f'<input type="hidden" name="type_device" value="web">'
            f'<input type="hidden" name="next" value="{escape(next_path)}">'
            f'<button type="submit" class="btn btn-primary btn-block">Iniciar sesión</button></form>')
    return _chrome("Iniciar sesión", body)


def _documents_cell(record: dict[str, Any]) -> str:
    links = [f'<a href="/media/preinstalaciones/{record["id_servicio"]}/{name}.jpg" '
             f'class="label label-info">{DOCUMENT_LABELS[name]}</a>'
             for name in record.get("archivos", []) if name in DOCUMENT_LABELS]
    return " ".join(links) or '<span class="text-muted">Sin archivos</span>'


def _row(record: dict[str, Any]) -> str:
    sid, user = record["id_servicio"], record["usuario"]
    phones = ", ".join(p for p in (record.get("phone_number"), record.get("aditional_phone_number")) if p)
    name = f'{record.get("firstname", "")} {record.get("lastname", "")}'.strip()
    cells = [str(sid), escape(name), escape(phones), escape(record.get("email") or ""),
             escape(record.get("address") or ""), escape(record.get("location") or ""),
             escape(record.get("city") or ""), escape(record.get("zona") or ""),
             escape(record.get("coordenadas") or ""), escape(record.get("commentaries") or ""),
             _documents_cell(record), escape(record.get("fecha_registro") or "")]
    actions = (f'<td class="text-right"><a class="btn btn-success btn-xs" title="Activar" '
               f'href="/preinstalacion/activar/{escape(user)}/{sid}/"><i class="fa fa-check"></i></a> '
               f'<a class="btn btn-default btn-xs" title="Editar" '
               f'href="/preinstalacion/editar/{escape(user)}/{sid}/"><i class="fa fa-pencil"></i></a></td>')
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + actions + "</tr>"


HEADERS = ("Id", "Nombre", "Teléfono", "Correo", "Dirección", "Barrio/Localidad", "Ciudad", "Zona",
           "Coordenadas", "Comentarios", "Documentos", "Fecha Registro", "Acción")


def preinstallations_page(records: list[dict[str, Any]], user: str) -> str:
    head = "".join(f"<th>{h}</th>" for h in HEADERS)
    rows = "".join(_row(r) for r in records) or (
        f'<tr class="odd"><td valign="top" colspan="{len(HEADERS)}" class="dataTables_empty">'
        "Ningún dato disponible en esta tabla</td></tr>")
    body = ('<div class="box"><div class="box-body table-responsive">'
            '<table id="lista-preinstalaciones" class="table table-striped table-bordered '
            f'dataTable dt-responsive nowrap"><thead><tr>{head}</tr></thead><tbody>{rows}'
            "</tbody></table></div></div>")
    return _chrome("Preinstalaciones", body, user)


def redesigned_page(user: str) -> str:
    """What a panel redesign could look like: cards instead of the table."""
    return _chrome("Preinstalaciones", '<div class="cards" data-app="preinstalaciones-v2"></div>', user)


def panel_home(user: str) -> str:
    return _chrome("Panel", '<p>Bienvenido.</p><a href="/preinstalaciones/">Preinstalaciones</a>', user)


def csrf_failure() -> str:
    return ("<html><head><title>403 Forbidden</title></head><body><h1>Prohibido <span>(403)</span></h1>"
            "<p>CSRF verification failed. Request aborted.</p></body></html>")


def nginx_403() -> str:
    return ("<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n<center><h1>403 "
            "Forbidden</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")


def nginx_404() -> str:
    return nginx_403().replace("403 Forbidden", "404 Not Found")


def bad_gateway() -> str:
    return ("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 "
            "Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")


def server_error() -> str:
    return "<h1>Server Error (500)</h1>"


def cloudflare_521(host: str) -> str:
    return (f"<!DOCTYPE html><html><head><title>{escape(host)} | 521: Web server is down</title></head>"
            '<body><div id="cf-wrapper"><h1><span class="cf-error-type">Error</span> '
            '<span class="cf-error-code">521</span></h1><p>Web server is down</p>'
            "<p>Sistema Para ISP</p></div></body></html>")


def cloudflare_challenge() -> str:
    return ("<!DOCTYPE html><html lang=\"en-US\"><head><title>Just a moment...</title>"
            '<script>window._cf_chl_opt={cType:"managed"};</script></head><body>'
            '<div class="main-wrapper"><h2>Verifying you are human. This may take a few seconds.</h2>'
            '<script src="/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1"></script>'
            "</div></body></html>")


def too_many_requests() -> str:
    return "<html><body><h1>429 Too Many Requests</h1></body></html>"


def landing_html() -> str:
    return _chrome("Sistema Para ISP", "<p>Estamos trabajando en el sistema.</p>")
