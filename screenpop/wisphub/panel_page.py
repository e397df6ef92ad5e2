"""Reading the staff panel's HTML (pure): the login form and the `/preinstalaciones/` table.

Rows are found by their activation link (`/preinstalacion/activar/<usuario>/<id>/`) and cells by
header text, never by column position; anything else is a PanelLayoutError that says what was
not found, so an operator knows the panel changed rather than seeing an empty index.
"""
from __future__ import annotations

import re

from bs4 import BeautifulSoup, Tag

from screenpop.fields import fold
from screenpop.wisphub.errors import PanelLayoutError
from screenpop.wisphub.records import ACTIVATION_LINK, PanelRow

# field → (whole headers it is, words a header may hold), accent-folded; exact headers are
# matched first for every field, so "Router Cliente" never binds the customer's name
COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "name": (("nombre", "cliente", "nombre completo", "nombre del cliente", "nombre cliente"),
             ("nombre",)),
    "phone": (("telefono", "telefonos", "celular", "telefono celular", "movil"),
              ("telefono", "telefonos", "celular", "movil")),
    "email": (("correo", "email", "e mail", "correo electronico"), ("correo", "email")),
    "address": (("direccion", "domicilio"), ("direccion", "domicilio")),
    "locality": (("barrio", "localidad", "colonia", "barrio localidad"),
                 ("barrio", "localidad", "colonia")),
    "city": (("ciudad", "municipio", "ciudad municipio"), ("ciudad", "municipio")),
    "zone": (("zona",), ("zona",)),
    "coordinates": (("coordenadas", "ubicacion"), ("coordenadas",)),
    "comments": (("comentarios", "comentario"), ("comentarios", "comentario")),
    "documents": (("documentos", "archivos"), ("documentos", "archivos")),
    "registered": (("fecha registro", "fecha de registro", "registro", "creado", "fecha"),
                   ("registro", "creado")),
}
COLUMN_NAMES = {"name": "nombre", "phone": "teléfono"}
REQUIRED = ("name", "phone")
DOCUMENT_HINTS = {
    "dni_front": ("front_dni", "frente", "anverso"),
    "dni_back": ("back_dni", "reverso"),
    "proof_of_address": ("proof_of_address", "comprobante"),
}
_CSRF = re.compile(r"""name\s*=\s*["']csrfmiddlewaretoken["'][^>]*?value\s*=\s*["']([^"']+)["']"""
                   r"""|value\s*=\s*["']([^"']+)["'][^>]*?name\s*=\s*["']csrfmiddlewaretoken["']""")
_CHALLENGE = ("just a moment", "cf-chl", "challenge-platform", "verifying you are human",
              "cf_chl_opt", "attention required! | cloudflare")
LAYOUT_HINT = ("la lista de preinstalaciones de WispHub cambió: {what}; hay que actualizar "
               "screenpop/wisphub/panel_page.py / the WispHub pre-installation list changed: {what_en}")


def find_csrf_token(html: str) -> str | None:
    soup = BeautifulSoup(html, "html.parser")
    field = soup.find("input", attrs={"name": "csrfmiddlewaretoken"})
    if isinstance(field, Tag) and field.get("value"):
        return str(field["value"])
    found = _CSRF.search(html)
    return (found.group(1) or found.group(2)) if found else None


def looks_like_login_form(html: str) -> bool:
    soup = BeautifulSoup(html, "html.parser")
    return (soup.find("input", attrs={"name": "login"}) is not None
            and soup.find("input", attrs={"name": "password"}) is not None)


def login_error_text(html: str) -> str:
    soup = BeautifulSoup(html, "html.parser")
    box = soup.select_one(".alert-danger, .alert, ul.errorlist")
    return " ".join(box.get_text(" ").split()) if box else ""


def is_challenge(html: str) -> bool:
    text = html[:20000].lower()
    return any(marker in text for marker in _CHALLENGE)


def _layout_error(what: str, what_en: str) -> PanelLayoutError:
    return PanelLayoutError(LAYOUT_HINT.format(what=what, what_en=what_en))


def _words(text: str) -> tuple[str, ...]:
    return tuple(re.findall(r"[a-z0-9]+", fold(text)))


def _header_map(table: Tag) -> dict[str, int]:
    header_row = None
    thead = table.find("thead")
    if isinstance(thead, Tag):
        rows = thead.find_all("tr")
        header_row = rows[-1] if rows else None
    if header_row is None:
        header_row = next((tr for tr in table.find_all("tr") if tr.find("th")), None)
    if header_row is None:
        return {}
    headers = [_words(th.get_text(" ")) for th in header_row.find_all(["th", "td"])]
    columns: dict[str, int] = {}
    for name, (exact, _) in COLUMNS.items():
        wanted = {_words(w) for w in exact}
        found = next((i for i, h in enumerate(headers) if h in wanted and i not in columns.values()),
                     None)
        if found is not None:
            columns[name] = found
    for name, (_, contained) in COLUMNS.items():
        if name in columns:
            continue
        found = next((i for i, h in enumerate(headers) if i not in columns.values()
                      and any(w in h for w in contained)), None)
        if found is not None:
            columns[name] = found
    return columns


def _pick_table(soup: BeautifulSoup) -> Tag:
    tables = soup.find_all("table")
    for table in tables:
        if table.find("a", href=ACTIVATION_LINK):
            return table
    for table in tables:
        if all(name in _header_map(table) for name in REQUIRED):
            return table
    raise _layout_error("no se encontró la tabla con enlaces /preinstalacion/activar/",
                        "no table with /preinstalacion/activar/ links was found")


def _cell_text(cell: Tag) -> str:
    return " ".join(cell.get_text(", " if cell.find("a") else " ").split())


def _documents(cell: Tag) -> frozenset[str]:
    found = set()
    for part in [cell.get_text(" ")] + [str(a.get("href", "")) for a in cell.find_all("a")]:
        folded = fold(part)
        found.update(doc for doc, hints in DOCUMENT_HINTS.items()
                     if any(h in folded for h in hints))
    return frozenset(found)


def parse_preinstallation_list(html: str) -> list[PanelRow]:
    soup = BeautifulSoup(html, "html.parser")
    table = _pick_table(soup)
    columns = _header_map(table)
    absent = [name for name in REQUIRED if name not in columns]
    if absent:
        raise _layout_error(f"faltan las columnas {', '.join(COLUMN_NAMES[n] for n in absent)}",
                            f"columns {', '.join(absent)} are missing")
    if _loaded_by_the_browser(table):
        raise _layout_error(
            "la tabla se llena desde el navegador por partes (DataTables del lado del servidor) y "
            "esa consulta no está documentada; no se indexa una lista incompleta",
            "the table is filled server-side by DataTables; refusing a partial index")
    optional_absent = frozenset(name for name in COLUMNS if name not in columns)
    rows: list[PanelRow] = []
    body = table.find("tbody") or table
    for tr in body.find_all("tr"):
        cells = tr.find_all("td", recursive=False)
        if len(cells) <= 1 or "child" in (tr.get("class") or []):
            continue  # DataTables' "no data" row and responsive child rows
        link = tr.find("a", href=ACTIVATION_LINK)
        if link is None:
            raise _layout_error("una fila no tiene enlace /preinstalacion/activar/",
                                "a row has no /preinstalacion/activar/ link")
        href = str(link["href"])
        found = ACTIVATION_LINK.search(href)
        assert found is not None
        values = {name: _cell_text(cells[pos]) if pos < len(cells) else None
                  for name, pos in columns.items() if name != "documents"}
        docs_cell = columns.get("documents")
        rows.append(PanelRow(
            id=found.group("id"),
            username=found.group("username"),
            activation_path=found.group(0) if found.group(0).endswith("/") else found.group(0) + "/",
            name=values.get("name") or "",
            phone=values.get("phone") or "",
            email=values.get("email"),
            address=values.get("address"),
            locality=values.get("locality"),
            city=values.get("city"),
            zone=values.get("zone"),
            coordinates=values.get("coordinates"),
            comments=values.get("comments"),
            documents=_documents(cells[docs_cell]) if docs_cell is not None and docs_cell < len(cells)
            else frozenset(),
            registered=values.get("registered"),
            absent=optional_absent,
        ))
    return rows


def _loaded_by_the_browser(table: Tag) -> bool:
    flags = (str(table.get("data-server-side", "")).lower(), str(table.get("data-ajax", "")))
    return flags[0] == "true" or bool(flags[1])


_TOTAL = re.compile(r"de\s+(?:un\s+total\s+de\s+)?(\d[\d.,]*)\s+(?:registros|preinstalaciones|entradas)")


def listed_total(html: str) -> int | None:
    """The total a paginated page announces ("Mostrando 1 a 10 de 30 registros"), if any."""
    found = _TOTAL.search(fold(BeautifulSoup(html, "html.parser").get_text(" ")))
    return int(re.sub(r"\D", "", found.group(1))) if found else None


def next_page(html: str) -> str | None:
    """The link to the next page of a server-paginated list (Django/Bootstrap pagination)."""
    soup = BeautifulSoup(html, "html.parser")
    link = soup.select_one('a[rel="next"]') or soup.select_one(".pagination li.next:not(.disabled) a")
    if link is None:
        link = next((a for a in soup.select(".pagination a")
                     if fold(a.get_text()).strip() in ("siguiente", "»", "›", "next")), None)
    href = str(link.get("href", "")) if link is not None else ""
    return href if href and href != "#" else None
