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


def _cells(record: dict[str, Any]) -> dict[str, str]:
    sid = record["id_servicio"]
    phones = ", ".join(p for p in (record.get("phone_number"), record.get("aditional_phone_number")) if p)
    name = f'{record.get("firstname", "")} {record.get("lastname", "")}'.strip()
    return {"Id": str(sid), "Nombre": escape(name), "Teléfono": escape(phones),
            "Correo": escape(record.get("email") or ""), "Dirección": escape(record.get("address") or ""),
            "Barrio/Localidad": escape(record.get("location") or ""),
            "Ciudad": escape(record.get("city") or ""), "Zona": escape(record.get("zona") or ""),
            "Router Cliente": "", "Coordenadas": escape(record.get("coordenadas") or ""),
            "Comentarios": escape(record.get("commentaries") or ""),
            "Documentos": _documents_cell(record),
            "Fecha Registro": escape(record.get("fecha_registro") or "")}


def _row(record: dict[str, Any], headers: tuple[str, ...]) -> str:
    sid, user = record["id_servicio"], record["usuario"]
    cells = _cells(record)
    actions = (f'<td class="text-right"><a class="btn btn-success btn-xs" title="Activar" '
               f'href="/preinstalacion/activar/{escape(user)}/{sid}/"><i class="fa fa-check"></i></a> '
               f'<a class="btn btn-default btn-xs" title="Editar" '
               f'href="/preinstalacion/editar/{escape(user)}/{sid}/"><i class="fa fa-pencil"></i></a></td>')
    return "<tr>" + "".join(f"<td>{cells[h]}</td>" for h in headers if h != "Acción") + actions + "</tr>"


# "Router Cliente" (empty until activation) sits before the customer's name columns would be
# found by a loose match: the client must bind "Nombre", not a header that merely holds "cliente"
HEADERS = ("Id", "Router Cliente", "Nombre", "Teléfono", "Correo", "Dirección", "Barrio/Localidad",
           "Ciudad", "Zona", "Coordenadas", "Comentarios", "Documentos", "Fecha Registro", "Acción")


def _pagination(page: int, pages: int, first: int, last: int, total: int) -> str:
    prev = (f'<li class="previous"><a href="?page={page - 1}">Anterior</a></li>' if page > 1
            else '<li class="previous disabled"><a href="#">Anterior</a></li>')
    nxt = (f'<li class="next"><a href="?page={page + 1}">Siguiente</a></li>' if page < pages
           else '<li class="next disabled"><a href="#">Siguiente</a></li>')
    return (f'<div class="pull-left">Mostrando {first} a {last} de {total} registros</div>'
            f'<ul class="pagination">{prev}{nxt}</ul>')


def preinstallations_page(records: list[dict[str, Any]], user: str, *, hidden: frozenset[str] = frozenset(),
                          page: int = 1, page_size: int | None = None,
                          server_side: bool = False) -> str:
    headers = tuple(h for h in HEADERS if h not in hidden)
    total = len(records)
    pager = ""
    if page_size:
        pages = max(1, -(-total // page_size))
        page = min(max(1, page), pages)
        shown = records[(page - 1) * page_size:page * page_size]
        pager = _pagination(page, pages, (page - 1) * page_size + 1, (page - 1) * page_size + len(shown),
                            total)
        records = shown
    if server_side:
        records = []
    head = "".join(f"<th>{h}</th>" for h in headers)
    rows = "".join(_row(r, headers) for r in records) or (
        f'<tr class="odd"><td valign="top" colspan="{len(headers)}" class="dataTables_empty">'
        "Ningún dato disponible en esta tabla</td></tr>")
    attrs = ' data-server-side="true" data-ajax="/preinstalaciones/json/"' if server_side else ""
    body = ('<div class="box"><div class="box-body table-responsive">'
            '<table id="lista-preinstalaciones" class="table table-striped table-bordered '
            f'dataTable dt-responsive nowrap"{attrs}><thead><tr>{head}</tr></thead><tbody>{rows}'
            f"</tbody></table>{pager}</div></div>")
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
