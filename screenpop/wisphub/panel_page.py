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

# field → header words (accent-folded); the first header containing one of them is used
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("nombre", "cliente"),
    "phone": ("telefono", "celular", "movil"),
    "email": ("correo", "email", "e-mail"),
    "address": ("direccion", "domicilio"),
    "locality": ("barrio", "localidad", "colonia"),
    "city": ("ciudad", "municipio"),
    "zone": ("zona",),
    "coordinates": ("coordenadas", "ubicacion"),
    "comments": ("comentario",),
    "documents": ("documento", "archivo"),
    "registered": ("fecha", "registro", "creado"),
}
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
    headers = [fold(th.get_text(" ")) for th in header_row.find_all(["th", "td"])]
    columns: dict[str, int] = {}
    for name, words in COLUMNS.items():
        for position, header in enumerate(headers):
            if position not in columns.values() and any(w in header for w in words):
                columns[name] = position
                break
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
        raise _layout_error(f"faltan las columnas {', '.join(absent)}",
                            f"columns {', '.join(absent)} are missing")
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
        ))
    return rows
