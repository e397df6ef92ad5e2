"""The web app factory: every dependency comes in, nothing is created at import time."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import jinja2
from aiohttp import web

from common import phones
from common.db.pool import LazyPool
from common.keys import Keys
from common.records.offload import writer_for
from common.records.writer import FactSink, WriterMetrics
from common.tasks import cancel_and_wait
from screenpop.agents import AgentSettings, AgentStateStore
from screenpop.calls.access import CallAccess
from screenpop.calls.record import CallRecords
from screenpop.campaigns import agent_control
from screenpop.campaigns.routes import add_campaign_routes
from screenpop.config import ScreenpopConfig
from screenpop.index import PreinstallationIndex
from screenpop.operations.settings import ActionSettings
from screenpop.preview.offers import PreviewOffers
from screenpop.preview.routes import add_preview_routes
from screenpop.push.acks import AckTracker
from screenpop.push.bus import CallBus
from screenpop.push.hub import Hub
from screenpop.push.protocol import CLOSE_GOING_AWAY
from screenpop.push.router import PopRouter
from screenpop.qa.routes import add_qa_routes
from screenpop.qa.settings import QaSettings
from screenpop.records import CALL_LOG, CallLog
from screenpop.script.model import ProviderConfig
from screenpop.script.progress import CallProgressStore
from screenpop.script.provider import default_provider_config_path, load_provider_config
from screenpop.users import UserStore
from screenpop.web import actions, agent_api, api, auth, guided, status, ws
from screenpop.web.callbacks import add_callback_routes
from screenpop.web.metrics import Metrics
from screenpop.web.security import add_security_headers, refuse_malformed_call_ids
from screenpop.web.sessions import SessionStore
from screenpop.web.state import (
    ACKS,
    AGENT_SETTINGS,
    AGENT_STATES,
    BUS,
    CALL_ACCESS,
    CALL_RECORDS,
    CONFIG,
    GATEWAY,
    HUB,
    INDEX,
    KEYS,
    METRICS,
    PREVIEW,
    PROGRESS,
    PROVIDER,
    REDIS,
    ROUTER,
    SESSIONS,
    TEMPLATES,
    USERS,
)
from screenpop.wrapup.routes import add_wrapup_routes
from screenpop.wrapup.settings import DispositionSettings

log = logging.getLogger(__name__)

PACKAGE = Path(__file__).resolve().parent.parent
SYNC_STOP_TIMEOUT = 10.0
POOL_SIZE = 10  # the accounts and the QA desk (its CSV export holds one)


def create_app(config: ScreenpopConfig, *, redis, index: PreinstallationIndex, gateway=None,
               sync=None, agent_settings: AgentSettings | None = None,
               provider: ProviderConfig | None = None,
               action_settings: ActionSettings | None = None,
               qa: QaSettings | None = None, database_url: str | None = None,
               record_writer: FactSink | None = None,
               dispositions: DispositionSettings | None = None,
               users: UserStore | None = None,
               database: LazyPool | None = None) -> web.Application:
    """`provider` defaults to PROVIDER_CONFIG's file (or the shipped example), loaded now so a
    bad file stops start-up (ProviderConfigError names the key). `action_settings` (the
    write-back's, WISPHUB_ACTIONS_CONFIG) default to none configured. Call records go to
    `record_writer`, else to a writer process on `database_url` (DATABASE_URL), else nowhere.
    Accounts come from `users`, else from a store on `database`. `database` is the process's one
    pool (default: one on the configuration's DATABASE_URL, opened on first use, closed with the
    app), which the accounts and the QA desk share.
    `dispositions` (DISPOSITIONS_CONFIG) default to the shipped list."""
    keys = Keys(config.redis_prefix)
    if provider is None:
        provider = load_provider_config(config.provider_config or default_provider_config_path())
    app = web.Application(client_max_size=64 * 1024, middlewares=[refuse_malformed_call_ids])
    metrics = Metrics()
    if database is None:
        database = LazyPool(config.database_url, max_size=POOL_SIZE)
        app.cleanup_ctx.append(_closing(database))  # registered first: closed last
    if users is None:
        users = UserStore(database, redis, keys)
    settings = agent_settings or AgentSettings()
    states = AgentStateStore(redis, keys)
    access, records = CallAccess(redis, keys), CallRecords(redis, keys, index)
    acks = AckTracker(redis, keys, metrics, states, access, settings.ack_deadline)
    hub = Hub(metrics)
    records_writer = record_writer or writer_for(database_url, "screenpop")
    app[CALL_LOG] = call_log = CallLog(records_writer)
    router = PopRouter(redis, keys, records, access, users, hub, states=states, settings=settings,
                       acks=acks, call_log=call_log)
    app[CALL_ACCESS], app[CALL_RECORDS] = access, records
    app[AGENT_SETTINGS], app[AGENT_STATES], app[ACKS] = settings, states, acks
    app[PROVIDER], app[PROGRESS] = provider, CallProgressStore(redis, keys, provider=provider)
    app[CONFIG], app[KEYS], app[REDIS], app[INDEX] = config, keys, redis, index
    if gateway is not None:
        app[GATEWAY] = gateway
    app[USERS], app[SESSIONS] = users, SessionStore(redis, keys, config.session_ttl)
    app[METRICS], app[HUB], app[ROUTER] = metrics, hub, router
    app[PREVIEW] = PreviewOffers(redis, keys, index)
    app[BUS] = CallBus(redis, keys, router, hub, metrics, offers=app[PREVIEW])
    templates = jinja2.Environment(loader=jinja2.FileSystemLoader(PACKAGE / "templates"),
                                   autoescape=True)
    templates.globals["static"] = lambda name: str(app.router["static"].url_for(filename=name))
    templates.filters["phone"] = phones.readable
    app[TEMPLATES] = templates

    app.router.add_get("/", agent_page)
    app.router.add_get("/login", auth.login_form)
    app.router.add_post("/login", auth.login_submit)
    app.router.add_post("/logout", auth.logout)
    app.router.add_get("/ws", ws.websocket)
    app.router.add_get("/api/preinstallations/search", api.search)
    app.router.add_post("/api/calls/{call_id}/link", api.link_call)
    app.router.add_get("/api/calls/{call_id}/script", guided.get_script)
    app.router.add_post("/api/calls/{call_id}/progress", guided.save_progress)
    app.router.add_post("/api/agent/state", agent_api.set_state)
    app.router.add_get("/api/agents", agent_api.list_agents)
    app.router.add_post("/api/agents/{username}/dialer", agent_control.pause_or_resume)
    app.router.add_get("/supervisor", agent_api.supervisor_page)
    app.router.add_get("/status", status.status)
    app.router.add_get("/metrics", status.metrics)
    app.router.add_static("/static", PACKAGE / "static", name="static", append_version=True)
    app.on_response_prepare.append(add_security_headers)
    app.cleanup_ctx.append(_background("call-bus", lambda app: app[BUS].run()))
    app.cleanup_ctx.append(_background("agent-states", lambda app: app[ROUTER].run_states()))
    app.cleanup_ctx.append(_background("pop-acks", lambda app: app[ACKS].run()))
    app.cleanup_ctx.append(agent_api.run_wrapup_reaper)
    if records_writer is not None:
        metrics.registry.register(WriterMetrics(records_writer, "screenpop"))
        app.cleanup_ctx.append(_record_writer(records_writer))
    actions.add_action_routes(app, action_settings or ActionSettings())
    dispositions = dispositions or DispositionSettings.from_env({})
    add_wrapup_routes(app, dispositions, database_url or database.url)
    add_preview_routes(app)
    add_callback_routes(app)  # the IVR's pending callbacks (supervisor page)
    if qa is not None:  # the QA desk, with its PostgreSQL pool, when DATABASE_URL is set
        add_qa_routes(app, qa, database,
                      disposition_labels={o.id: o.label for o in dispositions.options})
    # campaigns, do-not-call and the live campaign view
    add_campaign_routes(app, database_url or database.url)
    if sync is not None:
        app.cleanup_ctx.append(_sync_runner(sync))
    app.on_shutdown.append(_close_sockets)
    return app


async def agent_page(request: web.Request) -> web.Response:
    session, user = await auth.require_page(request)
    return auth.render(request, "agent.html", user=user, csrf_token=session.csrf,
                       pause_reasons=request.app[AGENT_SETTINGS].pause_reasons,
                       actions_js=(PACKAGE / "static" / "actions.js").exists(),
                       actions_css=(PACKAGE / "static" / "actions.css").exists())


def _background(name: str, work: Callable[[web.Application], Awaitable[None]]):
    """A cleanup context that runs `work(app)` as one owned task while the app runs."""
    async def run(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(work(app), name=name)
        yield
        await cancel_and_wait(task)
    return run


def _closing(database: LazyPool):
    async def run(app: web.Application) -> AsyncIterator[None]:
        yield
        await database.close()
    return run


def _record_writer(writer: FactSink):
    async def run(app: web.Application) -> AsyncIterator[None]:
        writer.start()
        yield
        await writer.stop()
    return run


def _sync_runner(sync):
    async def run(app: web.Application) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(sync.run(stop), name="index-sync")
        yield
        stop.set()
        try:
            await asyncio.wait_for(task, SYNC_STOP_TIMEOUT)
        except TimeoutError:
            log.warning("index sync did not stop in time; cancelled")
        except Exception:
            log.exception("index sync failed")
    return run


async def _close_sockets(app: web.Application) -> None:
    await app[HUB].close_all(CLOSE_GOING_AWAY, "servidor detenido")
