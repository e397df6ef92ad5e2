"""The QA desk's pages and endpoints (Spanish). Reviewers (qa, supervisor, admin) list, play,
score, resolve disputes, calibrate and export; agents see only their own calls and scores and
dispute items. Every state change is a form POST carrying the session's CSRF token."""
from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import asyncpg
from aiohttp import web

from common.db.pool import LazyPool, create_pool
from common.records.facts import CLOSED
from screenpop.push.protocol import INVALID_IVR_STEP, IVR_STEPS
from screenpop.qa import calibration, charts, evaluations, records, sampling, timeline
from screenpop.qa.export import csv_chunks
from screenpop.qa.filters import CallFilter, Cursor, FilterError, parse_filter
from screenpop.qa.forms import FormError, parse_scores, required_text
from screenpop.qa.recordings import recording_state, resolve_recording
from screenpop.qa.scorecard import Scorecard
from screenpop.qa.settings import QaSettings
from screenpop.users import User
from screenpop.web import auth, csrf
from screenpop.web.sessions import Session
from screenpop.web.state import CONFIG, PROVIDER, TEMPLATES

log = logging.getLogger(__name__)

REVIEWER_ROLES = frozenset({"qa", "supervisor", "admin"})
QA_SETTINGS = web.AppKey("qa_settings", QaSettings)
QA_SCORECARD = web.AppKey("qa_scorecard", Scorecard)
QA_POOL = web.AppKey("qa_pool", asyncpg.Pool)
QA_TZ = web.AppKey("qa_tz", ZoneInfo)
FILTER_KEYS = ("from", "to", "agent", "direction", "campaign", "disposition", "matched",
               "activated", "reached", "preinstallation", "number")
DIRECTION_LABELS = {"inbound": "Entrante", "outbound": "Saliente", "unknown": "Desconocida"}
RESULT_LABELS = {"pass": "Cumple", "fail": "No cumple", "na": "No aplica"}
REASON_LABELS = {"share": "Muestra del asesor", "new_agent": "Asesor nuevo",
                 "activation": "Activación", "short_call": "Llamada corta"}
LOOKUP_LABELS = {"one": "Una preinstalación", "many": "Varias preinstalaciones (teléfono compartido)",
                 "none": "Ninguna preinstalación con ese número",
                 "unknown": "Sin resultado (la búsqueda no respondió a tiempo)"}


def add_qa_routes(app: web.Application, settings: QaSettings,
                  database: LazyPool | None = None, *,
                  disposition_labels: dict[str, str] | None = None) -> None:
    """Registers the desk on the app. It uses `database`, the process's shared pool, when that
    is on the desk's DATABASE_URL; else it opens a pool of its own while the app runs.
    `disposition_labels`: the configured results (DISPOSITIONS_CONFIG) by id, shown by name."""
    app[QA_SETTINGS] = settings
    app[QA_SCORECARD] = settings.scorecard
    tz = app[QA_TZ] = ZoneInfo(app[CONFIG].tz_name)
    templates = app[TEMPLATES]
    templates.filters["local"] = lambda at: at.astimezone(tz).strftime("%d/%m/%Y %H:%M:%S") \
        if at else "—"
    templates.filters["clock"] = _clock
    templates.globals.update(direction_labels=DIRECTION_LABELS, result_labels=RESULT_LABELS,
                             reason_labels=REASON_LABELS,
                             unreached_labels=timeline.UNREACHED_LABELS,
                             disposition_labels=disposition_labels or {},
                             extension=extension)
    shared = database if database is not None and database.url == settings.database_url else None
    app.cleanup_ctx.append(_shared_pool(shared) if shared is not None else _open_pool)
    add = app.router
    add.add_get("/qa", list_page)
    add.add_get("/qa/export.csv", export_csv)
    add.add_get("/qa/calls/{call_id}", call_page)
    add.add_get("/qa/calls/{call_id}/recording", recording)
    add.add_post("/qa/calls/{call_id}/evaluation", save_evaluation)
    add.add_post("/qa/evaluations/{evaluation_id:\\d+}/items/{item_id}/dispute", open_dispute)
    add.add_get("/qa/disputes", disputes_page)
    add.add_post("/qa/disputes/{dispute_id:\\d+}/resolve", resolve_dispute)
    add.add_get("/qa/queue", queue_page)
    add.add_post("/qa/queue/claim", claim)
    add.add_post("/qa/calibrations", create_calibration)
    add.add_get("/qa/calibrations/{calibration_id:\\d+}", calibration_page)
    add.add_get("/qa/charts", charts_page)
    add.add_get("/qa/api/charts", charts_data)


def _shared_pool(database: LazyPool):
    async def use(app: web.Application) -> AsyncIterator[None]:
        app[QA_POOL] = await database.pool()  # no connection yet; its owner closes it
        yield
    return use


async def _open_pool(app: web.Application) -> AsyncIterator[None]:
    # no connection at start-up: a database that is down must not keep screenpop (and its pops)
    # from starting; the desk's pages fail on their own until it answers
    app[QA_POOL] = await create_pool(app[QA_SETTINGS].database_url, min_size=0)
    yield
    await app[QA_POOL].close()


# --- who may do what ------------------------------------------------------------------------

def is_reviewer(user: User) -> bool:
    return user.role in REVIEWER_ROLES


async def _page_user(request: web.Request, *, reviewer: bool) -> tuple[Session, User]:
    session, user = await auth.require_page(request)
    if reviewer and not is_reviewer(user):
        raise _error(request, 403, "Esta sección es solo para calidad, supervisión y "
                                   "administración.", user=user, session=session)
    return session, user


async def _form_user(request: web.Request, *, reviewer: bool) -> tuple[Session, User, dict]:
    session, user = await _page_user(request, reviewer=reviewer)
    form = await request.post()
    submitted = form.get("csrf_token")
    if not csrf.same_token(session.csrf, submitted if isinstance(submitted, str) else None):
        raise _error(request, 403, "El formulario caducó. Recargue la página e intente de nuevo.",
                     user=user, session=session)
    return session, user, {k: v for k, v in form.items() if isinstance(v, str)}


async def _call_access(request: web.Request, user: User, call_id: str) -> None:
    """Reviewers open any call; an agent only one they took part in (else: as if it did not
    exist, so call ids cannot be probed)."""
    if is_reviewer(user):
        return
    if not await records.took_part(request.app[QA_POOL], call_id, user.username):
        raise _error(request, 404, "No se encontró la llamada.", user=user)


def _error(request: web.Request, status: int, message: str, *, user: User | None = None,
           session: Session | None = None) -> web.HTTPException:
    html = request.app[TEMPLATES].get_template("qa_error.html").render(
        message=message, user=user, csrf_token=session.csrf if session else "", status=status)
    return _status(status)(text=html, content_type="text/html")


def _status(status: int) -> type[web.HTTPException]:
    return {400: web.HTTPBadRequest, 403: web.HTTPForbidden, 404: web.HTTPNotFound,
            409: web.HTTPConflict}[status]


def _render(request: web.Request, template: str, session: Session, user: User,
            **context) -> web.Response:
    return auth.render(request, template, user=user, csrf_token=session.csrf,
                       reviewer=is_reviewer(user), **context)


def _filter(request: web.Request, user: User) -> CallFilter:
    try:
        flt = parse_filter(request.query, request.app[QA_TZ])
    except FilterError as exc:
        raise _error(request, 400, str(exc), user=user) from None
    return flt if is_reviewer(user) else flt.for_participant(user.username)


# --- the list, the export ---------------------------------------------------------------------

async def list_page(request: web.Request) -> web.Response:
    session, user = await _page_user(request, reviewer=False)
    flt = _filter(request, user)
    try:
        after = Cursor.decode(request.query["after"]) if request.query.get("after") else None
    except FilterError as exc:
        raise _error(request, 400, str(exc), user=user) from None
    page = await records.list_calls(request.app[QA_POOL], flt, after)
    kept = {k: request.query[k] for k in FILTER_KEYS if request.query.get(k)}
    next_url = f"/qa?{urlencode({**kept, 'after': page.next_cursor})}" if page.next_cursor \
        else None
    pool = request.app[QA_POOL]
    agents = await records.agent_choices(pool) if is_reviewer(user) else {}
    return _render(request, "qa_list.html", session, user, rows=page.rows, query=kept,
                   agents=agents, campaigns=await records.campaign_choices(pool),
                   next_url=next_url, first_url=f"/qa?{urlencode(kept)}" if after else None,
                   export_url=f"/qa/export.csv?{urlencode(kept)}")


async def export_csv(request: web.Request) -> web.StreamResponse:
    _, user = await _page_user(request, reviewer=True)
    flt = _filter(request, user)
    response = web.StreamResponse(headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="llamadas-{date.today():%Y%m%d}.csv"'})
    await response.prepare(request)
    async for chunk in csv_chunks(request.app[QA_POOL], flt, request.app[CONFIG].tz_name):
        await response.write(chunk)
    await response.write_eof()
    return response


# --- one call ---------------------------------------------------------------------------------

async def call_page(request: web.Request) -> web.Response:
    session, user = await _page_user(request, reviewer=False)
    call_id = request.match_info["call_id"]
    await _call_access(request, user, call_id)
    pool = request.app[QA_POOL]
    detail = await records.call_detail(pool, call_id)
    if detail is None:
        raise _error(request, 404, "No se encontró la llamada.", user=user)
    scored = await evaluations.evaluations_of(pool, call_id)
    if not is_reviewer(user):
        scored = [e for e in scored if e.row["agent_username"] == user.username]
    mine = next((e for e in scored if e.row["reviewer"] == user.username), None)
    return _render(request, "qa_call.html", session, user, evaluations=scored,
                   mine=_answers(mine), scorecard=request.app[QA_SCORECARD],
                   form_action=f"/qa/calls/{call_id}/evaluation", calibration=None,
                   **_call_context(request, detail))


def _call_context(request: web.Request, detail: records.CallDetail) -> dict:
    """What the call's data, player and timeline (qa_callinfo.html) show."""
    record = detail.record
    return {"detail": detail, "steps_reached": _steps_reached(record["guided"]),
            "ivr_steps": ivr_steps(record["ivr_path"]), "lookup_label": lookup_label(record),
            "events": _timeline(request, detail),
            "recording": recording_state(request.app[QA_SETTINGS].recordings_dir, record)}


def _timeline(request: web.Request, detail: records.CallDetail) -> list[timeline.Entry]:
    names = {}
    for agent in detail.agents:
        name = agent["display_name"] or agent["username"] or extension(agent["endpoint"])
        names[agent["endpoint"]] = name
        if agent["username"]:
            names[agent["username"]] = name
    titles = {step: texts.title for step, texts in request.app[PROVIDER].script.items()}
    return timeline.timeline(detail.events, names=names, step_titles=titles)


def extension(endpoint: str) -> str:
    """A phone nobody's account is known for, as people call it: `PJSIP/6002` → «Ext. 6002»."""
    return f"Ext. {endpoint.rpartition('/')[2]}" if endpoint else "—"


def ivr_steps(ivr_path) -> list[str]:
    """The record's IVR menu keys (common.records.facts.Ivr) as the caller's choices, in
    Spanish."""
    return [IVR_STEPS.get(key, INVALID_IVR_STEP)[1] for key in _ivr_keys(ivr_path)]


def lookup_label(record) -> str:
    """What the IVR's look-up of the caller found; after hours it does not run at all."""
    if _ivr_keys(record["ivr_path"])[:1] == [CLOSED] and record["lookup_match"] in (None,
                                                                                   "unknown"):
        return "No se buscó (fuera de horario)"
    return LOOKUP_LABELS.get(record["lookup_match"], "—")


def _ivr_keys(ivr_path) -> list[str]:
    keys = json.loads(ivr_path) if isinstance(ivr_path, str) else (ivr_path or [])
    return [str(key) for key in keys] if isinstance(keys, list) else []


def _steps_reached(guided) -> set[str]:
    """The guided-call steps the agent reached, as the record's writer lists them in
    `guided.steps` (common.records.facts)."""
    data = json.loads(guided) if isinstance(guided, str) else (guided or {})
    steps = data.get("steps") if isinstance(data, dict) else None
    return set(steps) if isinstance(steps, list) else set()


def _answers(evaluation) -> dict:
    if evaluation is None:
        return {}
    return {"comment": evaluation.row["comment"],
            **{i["item_id"]: i for i in evaluation.items}}


async def recording(request: web.Request) -> web.StreamResponse:
    _, user = await _page_user(request, reviewer=False)
    call_id = request.match_info["call_id"]
    await _call_access(request, user, call_id)
    recording_file = await request.app[QA_POOL].fetchval(
        "SELECT recording_file FROM call_records WHERE call_id = $1", call_id)
    path = resolve_recording(request.app[QA_SETTINGS].recordings_dir, recording_file)
    if path is None:
        if recording_file:
            log.warning("recording of call=%s not served: %r is missing or outside "
                        "RECORDINGS_DIR", call_id, recording_file)
        raise web.HTTPNotFound(text="La grabación de esta llamada no está disponible.")
    return web.FileResponse(path, headers={"Cache-Control": "private, no-store"})


async def save_evaluation(request: web.Request) -> web.StreamResponse:
    _, user, form = await _form_user(request, reviewer=True)
    call_id = request.match_info["call_id"]
    scorecard = request.app[QA_SCORECARD]
    calibration_id = int(form["calibration_id"]) if form.get("calibration_id", "").isdigit() \
        else None
    try:
        answers, comment = parse_scores(scorecard, form)
        await evaluations.save_evaluation(request.app[QA_POOL], scorecard, call_id=call_id,
                                          reviewer=user.username, answers=answers,
                                          comment=comment, calibration_id=calibration_id)
    except FormError as exc:
        raise _error(request, 400, str(exc), user=user) from None
    except evaluations.EvaluationError as exc:
        raise _error(request, _code_status(exc.code), str(exc), user=user) from None
    log.info("evaluation saved call=%s reviewer=%s", call_id, user.username)
    raise web.HTTPSeeOther(f"/qa/calibrations/{calibration_id}" if calibration_id
                           else f"/qa/calls/{call_id}")


async def open_dispute(request: web.Request) -> web.StreamResponse:
    _, user, form = await _form_user(request, reviewer=False)
    evaluation_id = int(request.match_info["evaluation_id"])
    try:
        reason = required_text(form.get("reason"), "el motivo de la disputa")
        await evaluations.open_dispute(request.app[QA_POOL], evaluation_id=evaluation_id,
                                       item_id=request.match_info["item_id"],
                                       agent=user.username, reason=reason)
    except FormError as exc:
        raise _error(request, 400, str(exc), user=user) from None
    except evaluations.EvaluationError as exc:
        raise _error(request, _code_status(exc.code), str(exc), user=user) from None
    call_id = await request.app[QA_POOL].fetchval(
        "SELECT call_id FROM qa_evaluations WHERE id = $1", evaluation_id)
    raise web.HTTPSeeOther(f"/qa/calls/{call_id}")


async def disputes_page(request: web.Request) -> web.Response:
    session, user = await _page_user(request, reviewer=True)
    rows = await request.app[QA_POOL].fetch(f"""
        SELECT d.id, d.item_id, d.reason, d.opened_at, e.call_id, e.reviewer, i.label, i.comment,
               {records.name_of("d.agent_username")} AS agent_name,
               {records.name_of("e.reviewer")} AS reviewer_name
        FROM qa_disputes d JOIN qa_evaluations e ON e.id = d.evaluation_id
        JOIN qa_evaluation_items i USING (evaluation_id, item_id)
        WHERE d.resolution IS NULL ORDER BY d.opened_at LIMIT 200""")
    return _render(request, "qa_disputes.html", session, user, disputes=rows)


async def resolve_dispute(request: web.Request) -> web.StreamResponse:
    _, user, form = await _form_user(request, reviewer=True)
    decision = form.get("decision")
    try:
        if decision not in ("upheld", "overturned"):
            raise FormError("Elija si se mantiene la calificación o se corrige.")
        await evaluations.resolve_dispute(
            request.app[QA_POOL], dispute_id=int(request.match_info["dispute_id"]),
            resolver=user.username, overturned=decision == "overturned",
            note=required_text(form.get("note"), "la nota de la resolución"))
    except FormError as exc:
        raise _error(request, 400, str(exc), user=user) from None
    except evaluations.EvaluationError as exc:
        raise _error(request, _code_status(exc.code), str(exc), user=user) from None
    raise web.HTTPSeeOther(form.get("back") if form.get("back", "").startswith("/qa/calls/")
                           else "/qa/disputes")


def _code_status(code: str) -> int:
    return {"not_found": 404, "bad_request": 400, "conflict": 409, "forbidden": 403,
            "no_agent": 409}[code]


# --- the daily queue, calibration ---------------------------------------------------------------

def _today(request: web.Request) -> date:
    return datetime.now(UTC).astimezone(request.app[QA_TZ]).date()


def _queue_day(request: web.Request, raw: str | None, user: User) -> date:
    """The sample a reviewer works on: a day up to today (TZ_NAME), today when not given.
    Reviewers mostly score the calls of the days before, whose calls have all ended."""
    today = _today(request)
    if not raw:
        return today
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise _error(request, 400, f"Fecha inválida «{raw}»: use el formato AAAA-MM-DD.",
                     user=user) from None
    if day > today:
        raise _error(request, 400, "Las llamadas de ese día todavía no ocurren: elija hoy o un "
                     "día anterior.", user=user)
    return day


def _queue_url(day: date, today: date) -> str:
    return "/qa/queue" if day == today else f"/qa/queue?day={day.isoformat()}"


async def queue_page(request: web.Request) -> web.Response:
    session, user = await _page_user(request, reviewer=True)
    pool, today = request.app[QA_POOL], _today(request)
    day = _queue_day(request, request.query.get("day"), user)
    total = await sampling.build_daily_sample(pool, day, request.app[QA_TZ],
                                              request.app[QA_SCORECARD].sampling)
    return _render(request, "qa_queue.html", session, user, day=day, today=today, total=total,
                   calls=await sampling.queue_of(pool, day, user.username),
                   unclaimed=await sampling.unclaimed_count(pool, day),
                   daily_claim=request.app[QA_SCORECARD].sampling.daily_claim,
                   previous_url=_queue_url(day - timedelta(days=1), today),
                   next_url=_queue_url(day + timedelta(days=1), today) if day < today else None)


async def claim(request: web.Request) -> web.StreamResponse:
    _, user, form = await _form_user(request, reviewer=True)
    pool = request.app[QA_POOL]
    day = _queue_day(request, form.get("day"), user)
    if form.get("call_id"):
        if not await sampling.claim_call(pool, day, form["call_id"], user.username):
            raise _error(request, 409, "Otro revisor ya tomó esa llamada: elija otra.", user=user)
    else:
        await sampling.claim_next(pool, day, user.username,
                                  request.app[QA_SCORECARD].sampling.daily_claim)
    raise web.HTTPSeeOther(_queue_url(day, _today(request)))


async def create_calibration(request: web.Request) -> web.StreamResponse:
    _, user, form = await _form_user(request, reviewer=True)
    title = (form.get("title") or "").strip()[:120] or "Calibración"
    session_id = await calibration.create_calibration(
        request.app[QA_POOL], call_id=form.get("call_id", ""), title=title,
        created_by=user.username)
    if session_id is None:
        raise _error(request, 404, "No se encontró la llamada o ningún asesor la atendió.",
                     user=user)
    raise web.HTTPSeeOther(f"/qa/calibrations/{session_id}")


async def calibration_page(request: web.Request) -> web.Response:
    session, user = await _page_user(request, reviewer=True)
    pool = request.app[QA_POOL]
    spread = await calibration.calibration_spread(pool, int(request.match_info["calibration_id"]))
    if spread is None:
        raise _error(request, 404, "No existe esa sesión de calibración.", user=user)
    call_id = spread.calibration["call_id"]
    detail = await records.call_detail(pool, call_id)
    mine = next((e for e in await evaluations.evaluations_of(
        pool, call_id, calibration_id=spread.calibration["id"])
        if e.row["reviewer"] == user.username), None)
    return _render(request, "qa_calibration.html", session, user, spread=spread,
                   scorecard=request.app[QA_SCORECARD], mine=_answers(mine),
                   **_call_context(request, detail),
                   form_action=f"/qa/calls/{call_id}/evaluation",
                   calibration=spread.calibration)


# --- charts --------------------------------------------------------------------------------------

async def charts_page(request: web.Request) -> web.Response:
    session, user = await _page_user(request, reviewer=True)
    return _render(request, "qa_charts.html", session, user)


async def charts_data(request: web.Request) -> web.Response:
    _, user = await auth.require_api(request)
    if not is_reviewer(user):
        raise web.HTTPForbidden(text='{"error":"forbidden"}', content_type="application/json")
    try:
        flt = parse_filter(request.query, request.app[QA_TZ])
    except FilterError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    until = flt.until or datetime.now(UTC) + timedelta(seconds=1)
    since = flt.since or until - timedelta(weeks=8)
    return web.json_response(await charts.chart_data(
        request.app[QA_POOL], since=since, until=until, tz_name=request.app[CONFIG].tz_name))


def _clock(seconds) -> str:
    if seconds is None:
        return ""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
