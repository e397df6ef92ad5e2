"""The do-not-call page (supervisor and admin): the list with search and paging, add or remove
one number with a note, and a CSV import (a REPEP export or any sheet with a phone column) whose
progress the page shows while the file uploads and while its numbers are stored, then the
summary: added, already there, repeated in the file, bad rows with their line, leads blocked.
"""
from __future__ import annotations

import json
import logging
from dataclasses import asdict
from datetime import UTC, datetime

from aiohttp import web

from common.dialer.dnc import parse_dnc_csv
from common.dialer.store import DialerStore, DncImport
from common.phones import to_e164
from screenpop.campaigns.access import (
    DB_TROUBLE,
    database_errors,
    render,
    supervisor,
    supervisor_post,
)
from screenpop.campaigns.state import CAMPAIGN_POOL, CAMPAIGNS
from screenpop.web import csrf
from screenpop.web.state import CONFIG

log = logging.getLogger(__name__)

PAGE_SIZE = 50
MAX_IMPORT_BYTES = 32 * 1024 * 1024
IMPORT_CHUNK = 2000
BAD_ROWS_SHOWN = 200
NDJSON = "application/x-ndjson"


def add_dnc_routes(app: web.Application) -> None:
    add = app.router
    add.add_get("/dnc", dnc_page)
    add.add_post("/dnc/add", add_number)
    add.add_post("/dnc/remove", remove_number)
    add.add_post("/dnc/import", import_csv)


def _store(request: web.Request) -> DialerStore:
    return DialerStore(request.app[CAMPAIGN_POOL], default_zone=request.app[CONFIG].tz_name)


async def _page(request: web.Request, session, user, *, status: int = 200, errors=None,
                message: str | None = None, summary: dict | None = None) -> web.Response:
    search = request.query.get("q", "")[:60]
    page_no = int(request.query["page"]) if request.query.get("page", "").isdigit() else 1
    page_no = max(1, min(page_no, 100_000))
    book = request.app[CAMPAIGNS].book
    listing = await book.dnc_page(search, offset=(page_no - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    pages = max(1, -(-listing.total // PAGE_SIZE))
    return render(request, "dnc.html", session, user, status, listing=listing, search=search,
                   page_no=page_no, pages=pages, errors=errors or {}, message=message,
                   summary=summary, blocked=await book.blocked_leads(),
                   max_mb=MAX_IMPORT_BYTES // (1024 * 1024))


@database_errors
async def dnc_page(request: web.Request) -> web.Response:
    session, user = await supervisor(request)
    message = {"added": "Número agregado a la lista.",
               "already": "Ese número ya estaba en la lista.",
               "removed": "Número quitado de la lista.",
               "absent": "Ese número no estaba en la lista."}.get(request.query.get("done", ""))
    return await _page(request, session, user, message=message)


@database_errors
async def add_number(request: web.Request) -> web.StreamResponse:
    session, user, form, _ = await supervisor_post(request)
    phone = to_e164(form.get("phone", ""))
    note = " ".join(form.get("note", "").split())[:200] or None
    if phone is None:
        return await _page(request, session, user, status=400, errors={
            "phone": "No es un número telefónico válido: escriba los 10 dígitos (o con +52)."})
    report = await _store(request).add_to_dnc([phone], source="manual",
                                              added_by=user.username, note=note)
    log.info("dnc add %s by %s (leads blocked %d)", phone, user.username,
             report.leads_blocked)
    raise web.HTTPSeeOther(f"/dnc?done={'added' if report.added else 'already'}")


@database_errors
async def remove_number(request: web.Request) -> web.StreamResponse:
    _, user, form, _ = await supervisor_post(request)
    phone = to_e164(form.get("phone", "")) or ""
    removed = bool(phone) and await _store(request).remove_from_dnc(phone, datetime.now(UTC))
    log.info("dnc remove %s by %s (found=%s)", phone, user.username, removed)
    raise web.HTTPSeeOther(f"/dnc?done={'removed' if removed else 'absent'}")


def decode_csv(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")  # Excel's Spanish CSVs


def summary_dict(report: DncImport) -> dict:
    return {"added": report.added, "already_there": report.already_there,
            "repeated_in_file": report.repeated_in_file, "leads_blocked": report.leads_blocked,
            "bad_rows_total": len(report.bad_rows),
            "bad_rows": [asdict(row) for row in report.bad_rows[:BAD_ROWS_SHOWN]]}


@database_errors
async def import_csv(request: web.Request) -> web.StreamResponse:
    session, user = await supervisor(request)
    wants_stream = NDJSON in request.headers.get("Accept", "")
    if not request.content_type.startswith("multipart/"):
        return await _page(request, session, user, status=400,
                           errors={"file": "Elija un archivo CSV para importar."})
    fields, raw, too_big = {}, bytearray(), False
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if part.name == "file":
            filename = part.filename or "archivo.csv"
            while chunk := await part.read_chunk(256 * 1024):
                raw += chunk
                if len(raw) > MAX_IMPORT_BYTES:
                    too_big = True
                    break
            fields["filename"] = filename
        elif part.name == "csrf_token":
            fields["csrf_token"] = (await part.text())[:200]
        if too_big:
            break
    token = request.headers.get("X-CSRF-Token") or fields.get("csrf_token")
    if not csrf.same_token(session.csrf, token):
        raise web.HTTPForbidden(text="El formulario caducó. Recargue la página.")
    error = None
    if too_big:
        error = f"El archivo pasa de {MAX_IMPORT_BYTES // (1024 * 1024)} MB: divídalo."
    elif not raw.strip():
        error = "El archivo está vacío o no se eligió ninguno."
    if error is not None:
        if wants_stream:
            return web.json_response({"error": "bad_file", "message": error}, status=400)
        return await _page(request, session, user, status=400, errors={"file": error})
    parsed = parse_dnc_csv(decode_csv(bytes(raw)))
    source = f"import:{fields.get('filename', 'archivo.csv')[:80]}"
    store, total = _store(request), len(parsed.numbers)
    report = DncImport(repeated_in_file=parsed.repeated, bad_rows=parsed.bad_rows)
    response = None
    if wants_stream:
        response = web.StreamResponse(headers={"Content-Type": NDJSON})
        await response.prepare(request)
        await response.write(_line({"stage": "store", "done": 0, "total": total}))
    for start in range(0, total, IMPORT_CHUNK):
        try:
            part_report = await store.add_to_dnc(parsed.numbers[start:start + IMPORT_CHUNK],
                                                 source=source, added_by=user.username)
        except DB_TROUBLE:
            if response is None:
                raise
            # the page already shows progress: say how far it got (each chunk is whole)
            log.warning("dnc import %s stopped at %d of %d", source, start, total)
            await response.write(_line({
                "stage": "error", "done": start, "total": total,
                "message": f"La base de datos dejó de responder: se guardaron {start} de "
                           f"{total} números. Importe el archivo de nuevo (los ya guardados "
                           "no se repiten)."}))
            await response.write_eof()
            return response
        report.added += part_report.added
        report.already_there += part_report.already_there
        report.leads_blocked += part_report.leads_blocked
        if response is not None:
            await response.write(_line({"stage": "store", "done": min(total, start +
                                                                      IMPORT_CHUNK),
                                        "total": total}))
    log.info("dnc import %s by %s: added=%d already=%d bad=%d", source, user.username,
             report.added, report.already_there, len(report.bad_rows))
    summary = summary_dict(report)
    if response is None:
        return await _page(request, session, user, summary=summary)
    await response.write(_line({"stage": "done", "summary": summary}))
    await response.write_eof()
    return response


def _line(data: dict) -> bytes:
    return (json.dumps(data, ensure_ascii=False) + "\n").encode()
