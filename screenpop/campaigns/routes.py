"""Campaign pages (supervisor and admin, Spanish): the list with state and progress, create and
edit from a record filter (with the count of records it picks), start/pause/resume/stop. Every
state change is a POST with the session's CSRF token (form field or X-CSRF-Token header); a
change already made is a no-op.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from aiohttp import web

from common.db.pool import create_pool
from common.dialer.campaigns import (
    ACTION_LABELS,
    STATE_LABELS,
    Action,
    TransitionError,
    actions_for,
)
from common.dialer.schedule import RetryConfigError
from common.dialer.windows import WEEKDAYS, WindowConfigError
from screenpop.campaigns import filters
from screenpop.campaigns.access import (
    database_errors,
    page_error,
    render,
    supervisor,
    supervisor_post,
    wants_json,
)
from screenpop.campaigns.dnc_routes import add_dnc_routes
from screenpop.campaigns.form import (
    MODE_LABELS,
    ORDER_LABELS,
    RETRY_OUTCOMES,
    WEEKDAY_LABELS,
    blank_values,
    parse_form,
    values_of,
)
from screenpop.campaigns.live import CampaignLive
from screenpop.campaigns.service import CampaignService, ImportSummary
from screenpop.campaigns.state import CAMPAIGN_LIVE, CAMPAIGN_POOL, CAMPAIGNS
from screenpop.push.hub import WATCHER_ROLES
from screenpop.users import User
from screenpop.web import auth
from screenpop.web.sessions import Session
from screenpop.web.state import CONFIG, HUB, INDEX, KEYS, REDIS, TEMPLATES, USERS

log = logging.getLogger(__name__)

SEGMENTS = (("pending", "Pendientes", "#94a3b8"), ("in_progress", "En curso", "#f59e0b"),
            ("contacted", "Contactados", "#3b82f6"), ("activated", "Activados", "#16a34a"),
            ("exhausted", "Agotados", "#b91c1c"), ("closed", "Cerrados", "#6b7280"),
            ("blocked", "Bloqueados", "#7c3aed"), ("removed", "Ya no pendientes", "#d1d5db"))
ID = "{campaign_id:[A-Za-z0-9._-]{1,80}}"


def add_campaign_routes(app: web.Application, database_url: str) -> None:
    """The campaign and do-not-call pages, their PostgreSQL pool and the supervisor's live
    campaign view (screenpop.campaigns.live)."""
    app[CAMPAIGN_LIVE] = CampaignLive(app[HUB], app[REDIS], app[KEYS])
    app.cleanup_ctx.append(functools.partial(_open_pool, database_url=database_url))
    templates = app[TEMPLATES]
    templates.globals.update(segments=SEGMENTS, mode_labels=MODE_LABELS, order_labels=ORDER_LABELS,
                             action_labels=ACTION_LABELS)
    add = app.router
    add.add_get("/campaigns", list_page)
    add.add_get("/campaigns/new", new_page)
    add.add_post("/campaigns", create)
    add.add_get("/api/campaigns/count", count)
    add.add_get(f"/campaigns/{ID}", detail_page)
    add.add_get(f"/campaigns/{ID}/edit", edit_page)
    add.add_post(f"/campaigns/{ID}/edit", update)
    add.add_post(f"/campaigns/{ID}/{{action:start|pause|resume|stop}}", change_state)
    add_dnc_routes(app)


async def _open_pool(app: web.Application, *, database_url: str) -> AsyncIterator[None]:
    # no connection at start-up: a database that is down must not keep the pops from starting
    pool = app[CAMPAIGN_POOL] = await create_pool(database_url, min_size=0)
    config = app[CONFIG]
    app[CAMPAIGNS] = CampaignService(pool, app[REDIS], app[KEYS], app[INDEX],
                                     default_zone=config.tz_name)
    await app[CAMPAIGN_LIVE].start(pool)
    yield
    await app[CAMPAIGN_LIVE].stop()
    await pool.close()


# --- pages ------------------------------------------------------------------------------------

@database_errors
async def list_page(request: web.Request) -> web.Response:
    session, user = await supervisor(request)
    service = request.app[CAMPAIGNS]
    now = datetime.now(UTC)
    rows = await service.book.list()
    progress = {row.campaign.campaign_id: await service.book.progress(row.campaign.campaign_id,
                                                                      now)
                for row in rows}
    return render(request, "campaigns_list.html", session, user, rows=rows, progress=progress,
                   actions_for=actions_for)


async def _form_context(request: web.Request) -> dict:
    service = request.app[CAMPAIGNS]
    records = await service.pending_records()
    agents = [u for u in await request.app[USERS].list() if u.role == "agent"]
    return {"agents": agents, "zones": filters.zones_of(records),
            "documents": filters.document_choices(), "weekdays": WEEKDAYS,
            "weekday_labels": WEEKDAY_LABELS, "retry_outcomes": RETRY_OUTCOMES,
            "dispositions": await service.book.dispositions(),
            "no_disposition": filters.NO_DISPOSITION, "pending_total": len(records)}


@database_errors
async def new_page(request: web.Request) -> web.Response:
    session, user = await supervisor(request)
    return render(request, "campaign_form.html", session, user, campaign=None, errors={},
                   v=blank_values(request.app[CONFIG].tz_name), **await _form_context(request))


async def _parse(request: web.Request, single: dict, multi: dict):
    known = [u.username for u in await request.app[USERS].list() if u.role == "agent"]
    return parse_form(single, multi, known_agents=known,
                      default_zone=request.app[CONFIG].tz_name)


@database_errors
async def create(request: web.Request) -> web.StreamResponse:
    session, user, single, multi = await supervisor_post(request)
    form = await _parse(request, single, multi)
    if form.ok:
        try:
            campaign, _ = await request.app[CAMPAIGNS].create(form)
        except (WindowConfigError, RetryConfigError) as exc:
            form.errors["hours"] = str(exc)
        else:
            log.info("campaign %s created by %s", campaign.campaign_id, user.username)
            raise web.HTTPSeeOther(f"/campaigns/{campaign.campaign_id}")
    return render(request, "campaign_form.html", session, user, 400, campaign=None,
                   errors=form.errors, v=form.values, **await _form_context(request))


@database_errors
async def count(request: web.Request) -> web.Response:
    """How many pending records the filter in the query string picks now."""
    _, user = await auth.require_api(request)
    if user.role not in WATCHER_ROLES:
        return web.json_response({"error": "forbidden"}, status=403)
    flt, errors = filters.parse_filter(request.query, request.query.getall("f_missing", []))
    if errors:
        return web.json_response({"error": "bad_filter", "errors": errors}, status=400)
    service = request.app[CAMPAIGNS]
    return web.json_response({"count": len(await service.candidates(flt, datetime.now(UTC))),
                              "pending": len(await service.pending_records())})


async def _campaign(request: web.Request, user: User, session: Session):
    row = await request.app[CAMPAIGNS].get(request.match_info["campaign_id"])
    if row is None:
        raise page_error(request, 404, "No existe esa campaña.", user, session)
    return row


@database_errors
async def detail_page(request: web.Request) -> web.Response:
    session, user = await supervisor(request)
    row = await _campaign(request, user, session)
    service = request.app[CAMPAIGNS]
    progress = await service.book.progress(row.campaign.campaign_id, datetime.now(UTC))
    return render(request, "campaign_detail.html", session, user, row=row, progress=progress,
                   actions=actions_for(row.state),
                   summary=ImportSummary.from_dict(row.campaign.settings.get("last_import")),
                   weekday_labels=WEEKDAY_LABELS, retry_outcomes=RETRY_OUTCOMES,
                   filter_text=filters.describe(filters.RecordFilter.from_dict(
                       row.campaign.settings.get("filter") or {})))


@database_errors
async def edit_page(request: web.Request) -> web.Response:
    session, user = await supervisor(request)
    row = await _campaign(request, user, session)
    return render(request, "campaign_form.html", session, user, campaign=row, errors={},
                   v=values_of(row.campaign, request.app[CONFIG].tz_name),
                   **await _form_context(request))


@database_errors
async def update(request: web.Request) -> web.StreamResponse:
    session, user, single, multi = await supervisor_post(request)
    row = await _campaign(request, user, session)
    form = await _parse(request, single, multi)
    if form.ok:
        try:
            await request.app[CAMPAIGNS].update(row.campaign.campaign_id, form)
        except (WindowConfigError, RetryConfigError) as exc:
            form.errors["hours"] = str(exc)
        else:
            raise web.HTTPSeeOther(f"/campaigns/{row.campaign.campaign_id}")
    return render(request, "campaign_form.html", session, user, 400, campaign=row,
                   errors=form.errors, v=form.values, **await _form_context(request))


@database_errors
async def change_state(request: web.Request) -> web.StreamResponse:
    session, user, single, _ = await supervisor_post(request)
    campaign_id, action = request.match_info["campaign_id"], Action(request.match_info["action"])
    try:
        state, changed = await request.app[CAMPAIGNS].change(campaign_id, action)
    except LookupError as exc:
        if wants_json(request):
            return web.json_response({"error": "not_found", "message": str(exc)}, status=404)
        raise page_error(request, 404, str(exc), user, session) from None
    except TransitionError as exc:
        if wants_json(request):
            return web.json_response({"error": "bad_state", "message": str(exc)}, status=409)
        raise page_error(request, 409, str(exc), user, session) from None
    log.info("campaign %s %s by %s (changed=%s)", campaign_id, action, user.username, changed)
    if changed:
        request.app[CAMPAIGN_LIVE].wake()
    if wants_json(request):
        return web.json_response({"ok": True, "state": state, "changed": changed,
                                  "label": STATE_LABELS[state]})
    back = single.get("back", "")
    raise web.HTTPSeeOther(back if back in ("/campaigns", "/supervisor")
                           else f"/campaigns/{campaign_id}")


