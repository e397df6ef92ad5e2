"""Routes of the WispHub write-back on the pop, and the outbox worker they run with.

Every POST needs the session's CSRF token (X-CSRF-Token); who may do what with the call is
screenpop.calls.access's answer (writes: the agent who holds the call; the list: readers too).
Uploads are streamed to disk (screenpop.web.uploads): the app's small client_max_size does not
apply to them, the per-file limit and the per-session cap on uploads in flight do.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import suppress
from pathlib import Path

from aiohttp import web

from screenpop.calls.access import STAFF_ROLES, Need
from screenpop.operations.files import MAX_FILE_BYTES, FileRejected
from screenpop.operations.handlers import handlers_for
from screenpop.operations.outcomes import classify
from screenpop.operations.runner import OperationRunner, RunnerSettings
from screenpop.operations.service import ActionError, CallActions
from screenpop.operations.settings import ActionSettings
from screenpop.operations.store import OperationStore
from screenpop.operations.worker import OutboxWorker
from screenpop.records import CALL_LOG
from screenpop.script.progress import CallProgressStore
from screenpop.web import auth, csrf
from screenpop.web.call_routes import require_call
from screenpop.web.state import CALL_RECORDS, CONFIG, GATEWAY, KEYS, PROGRESS, PROVIDER, REDIS
from screenpop.web.uploads import MAX_PER_SESSION, TooManyUploads, UploadSpool, discard
from screenpop.wisphub.errors import WispHubError
from screenpop.wisphub.gateway import create_gateway
from screenpop.wisphub.http import RetryPolicy
from screenpop.wisphub.writes import WispHubWriter

log = logging.getLogger(__name__)

ACTIONS = web.AppKey("call_actions", CallActions)
ACTION_SETTINGS = web.AppKey("action_settings", ActionSettings)
WISPHUB_TRANSPORT = web.AppKey("wisphub_transport", object)  # tests: reach WispHub another way
HARD_CAP_BYTES = 24 * 1024 * 1024  # read and discard up to this much to refuse cleanly
TOO_LARGE = ("El archivo pesa más de 10 MB. Pida al cliente una foto más ligera o un PDF "
             "comprimido.")
TOO_MANY_UPLOADS = (f"Ya se están subiendo {MAX_PER_SESSION} archivos desde esta sesión. Espere a "
                    "que terminen y vuelva a intentarlo.")
UPLOADS = web.AppKey("uploads", UploadSpool)


def add_action_routes(app: web.Application, settings: ActionSettings) -> None:
    app[ACTION_SETTINGS] = settings
    app[UPLOADS] = UploadSpool(Path(app[CONFIG].data_dir))
    app.cleanup_ctx.append(lambda app: app[UPLOADS].run())
    app.router.add_post("/api/calls/{call_id}/activate", activate)
    app.router.add_post("/api/calls/{call_id}/documents", documents)
    app.router.add_post("/api/calls/{call_id}/data", save_data)
    app.router.add_post("/api/calls/{call_id}/services", services)
    app.router.add_get("/api/calls/{call_id}/operations", operations)
    app.router.add_post("/api/calls/{call_id}/operations/{op}/retry", retry)
    app.router.add_post("/api/calls/{call_id}/operations/{op}/resolve", resolve)
    app.router.add_get("/api/operations/attention", attention)
    app.cleanup_ctx.append(_run_actions)


async def _run_actions(app: web.Application) -> AsyncIterator[None]:
    settings, redis, keys = app[ACTION_SETTINGS], app[REDIS], app[KEYS]
    own = None
    gateway = app.get(GATEWAY)
    if gateway is None:
        own = gateway = create_gateway(app[CONFIG], transport=app.get(WISPHUB_TRANSPORT),
                                       policy=RetryPolicy())
    writer = WispHubWriter(gateway.rest, gateway.panel, task_deadline=settings.task_deadline,
                           task_interval=settings.task_interval)
    store = OperationStore(redis, keys)
    runner = OperationRunner(redis, keys, store, handlers_for(writer), RunnerSettings(
        settings.lock_seconds, settings.retry_base, settings.retry_cap, settings.unknown_wait,
        settings.unknown_checks, settings.max_attempts, settings.max_checks, settings.lock_retry))
    runner.on_change = app[CALL_LOG].operation
    progress = app.get(PROGRESS) or CallProgressStore(redis, keys)
    app[ACTIONS] = CallActions(app[CALL_RECORDS], store, runner, writer, settings,
                               app.get(PROVIDER), progress)
    worker = asyncio.create_task(OutboxWorker(runner, store, interval=settings.outbox_interval).run(),
                                 name="operations-outbox")
    yield
    worker.cancel()
    with suppress(asyncio.CancelledError):
        await worker
    await runner.close()
    if own is not None:
        await own.aclose()


async def _caller(request: web.Request, need: Need = Need.ACT) -> tuple[str, str]:
    """(call id, username) after the session, CSRF (on POST) and call access checks."""
    session, user = await auth.require_api(request)
    if request.method == "POST" and not csrf.same_token(session.csrf,
                                                        request.headers.get("X-CSRF-Token")):
        raise _forbidden("csrf", "La página caducó: recárguela e intente de nuevo.")
    grant = await require_call(request, user, need)
    return grant.call_id, user.username


def _forbidden(code: str, message: str) -> web.HTTPException:
    return web.HTTPForbidden(text=json.dumps({"error": code, "message": message}),
                             content_type="application/json")


async def _act(request: web.Request, action) -> web.Response:
    try:
        return await action()
    except ActionError as exc:
        return web.json_response({"error": exc.code, "message": exc.message}, status=exc.status)
    except WispHubError as exc:
        outcome = classify(exc)
        return web.json_response({"error": "wisphub", "message": outcome.reason,
                                  "hint": outcome.hint}, status=502)


async def activate(request: web.Request) -> web.Response:
    call_id, username = await _caller(request)
    actions = request.app[ACTIONS]

    async def run() -> web.Response:
        if request.query.get("dry_run") in ("1", "true"):
            return web.json_response({"dry_run": True, **await actions.preview(call_id)})
        return web.json_response({"operation": (await actions.activate(call_id, username)).public()})
    return await _act(request, run)


async def save_data(request: web.Request) -> web.Response:
    call_id, username = await _caller(request)
    actions = request.app[ACTIONS]

    async def run() -> web.Response:
        ops = await actions.save_data(call_id, username)
        return web.json_response({"operations": [op.public() for op in ops]})
    return await _act(request, run)


async def services(request: web.Request) -> web.Response:
    call_id, username = await _caller(request)
    actions = request.app[ACTIONS]

    async def run() -> web.Response:
        ops = await actions.attach_services(call_id, username)
        return web.json_response({"operations": [op.public() for op in ops]})
    return await _act(request, run)


async def operations(request: web.Request) -> web.Response:
    call_id, _ = await _caller(request, Need.READ)
    ops = await request.app[ACTIONS].store.list(call_id)
    return web.json_response({"operations": [op.public() for op in ops]})


async def retry(request: web.Request) -> web.Response:
    call_id, username = await _caller(request)
    actions = request.app[ACTIONS]

    async def run() -> web.Response:
        op = await actions.retry(call_id, request.match_info["op"], username)
        return web.json_response({"operation": op.public()})
    return await _act(request, run)


async def resolve(request: web.Request) -> web.Response:
    """A person looked in WispHub: {"done": true} it is there, {"done": false} it is not."""
    call_id, username = await _caller(request)
    actions = request.app[ACTIONS]
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("done"), bool):
        return web.json_response({"error": "bad_request",
                                  "message": "Indique si quedó hecho en WispHub."}, status=400)

    async def run() -> web.Response:
        op = await actions.resolve(call_id, request.match_info["op"], username, body["done"])
        return web.json_response({"operation": op.public()})
    return await _act(request, run)


async def attention(request: web.Request) -> web.Response:
    """Supervisors: the writes a capped loop gave up on, for a person to resolve."""
    _, user = await auth.require_api(request)
    if user.role not in STAFF_ROLES:
        raise _forbidden("not_allowed", "Solo supervisión puede ver esta lista.")
    ops = await request.app[ACTIONS].store.flagged()
    return web.json_response({"operations": [{**op.public(), "by": op.by} for op in ops]})


async def documents(request: web.Request) -> web.Response:
    call_id, username = await _caller(request)
    session, _ = await auth.require_api(request)
    if (request.content_length or 0) > HARD_CAP_BYTES:
        return _too_large(close=True)
    if not request.content_type.startswith("multipart/"):
        return web.json_response({"error": "bad_request", "message": "Envíe el archivo como formulario."},
                                 status=400)
    spool = request.app[UPLOADS]
    try:
        async with spool.slot(session.id):
            received = await spool.receive(await request.multipart(), HARD_CAP_BYTES)
            try:
                return await _upload(request, spool, received, call_id, username)
            finally:
                discard(received.path)
    except TooManyUploads:
        return web.json_response({"error": "too_many_uploads", "message": TOO_MANY_UPLOADS},
                                 status=429, headers={"Retry-After": "5"})


async def _upload(request: web.Request, spool: UploadSpool, received, call_id: str,
                  username: str) -> web.Response:
    if received.size > HARD_CAP_BYTES:
        return _too_large(close=True)
    if received.size > MAX_FILE_BYTES:
        return _too_large(close=False)
    if received.path is None or not received.size:
        return web.json_response({"error": "no_file", "message": "No llegó ningún archivo."},
                                 status=400)
    try:
        await spool.check(received.path, received.size)
    except FileRejected as exc:
        return web.json_response({"error": "bad_type", "message": str(exc)}, status=415)
    actions = request.app[ACTIONS]

    async def run() -> web.Response:
        op = await spool.with_content(received.path, lambda content: actions.upload(
            call_id, username, received.kind, content))
        return web.json_response({"operation": op.public()})
    return await _act(request, run)


def _too_large(*, close: bool) -> web.Response:
    return web.json_response({"error": "too_large", "message": TOO_LARGE}, status=413,
                             headers={"Connection": "close"} if close else None)
