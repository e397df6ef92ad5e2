"""Routes of the WispHub write-back on the pop, and the outbox worker they run with.

Every POST needs the session's CSRF token (X-CSRF-Token) and an agent who has (or had) the call.
Uploads are read as a stream: the app's small client_max_size does not apply to them, the
per-file limit below does.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator
from contextlib import suppress

from aiohttp import web

from common.envelope import CallUpdate, EnvelopeError
from screenpop.operations.files import MAX_FILE_BYTES
from screenpop.operations.handlers import handlers_for
from screenpop.operations.outcomes import classify
from screenpop.operations.runner import OperationRunner, RunnerSettings
from screenpop.operations.service import ActionError, CallActions
from screenpop.operations.settings import ActionSettings
from screenpop.operations.store import OperationStore
from screenpop.operations.worker import OutboxWorker
from screenpop.script.progress import CallProgressStore
from screenpop.web import auth, csrf
from screenpop.web.state import CONFIG, GATEWAY, INDEX, KEYS, PROGRESS, PROVIDER, REDIS
from screenpop.wisphub.errors import WispHubError
from screenpop.wisphub.gateway import create_gateway
from screenpop.wisphub.http import RetryPolicy
from screenpop.wisphub.writes import WispHubWriter

log = logging.getLogger(__name__)

ACTIONS = web.AppKey("call_actions", CallActions)
ACTION_SETTINGS = web.AppKey("action_settings", ActionSettings)
WISPHUB_TRANSPORT = web.AppKey("wisphub_transport", object)  # tests: reach WispHub another way
HARD_CAP_BYTES = 24 * 1024 * 1024  # read and discard up to this much to refuse cleanly
STAFF_ROLES = ("supervisor", "admin")
TOO_LARGE = ("El archivo pesa más de 10 MB. Pida al cliente una foto más ligera o un PDF "
             "comprimido.")


def add_action_routes(app: web.Application, settings: ActionSettings | None = None) -> None:
    app[ACTION_SETTINGS] = settings or ActionSettings.from_env(os.environ)
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
    progress = app.get(PROGRESS) or CallProgressStore(redis, keys)
    app[ACTIONS] = CallActions(redis, keys, app[INDEX], store, runner, writer, settings,
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


async def _caller(request: web.Request) -> tuple[str, str]:
    """(call id, username) after the session, CSRF (on POST) and call checks."""
    session, user = await auth.require_api(request)
    if request.method == "POST" and not csrf.same_token(session.csrf,
                                                        request.headers.get("X-CSRF-Token")):
        raise _forbidden("csrf", "La página caducó: recárguela e intente de nuevo.")
    call_id = request.match_info["call_id"]
    if user.role not in STAFF_ROLES and not await _had_call(request, call_id, user):
        raise _forbidden("not_your_call", "Esta llamada no es suya.")
    return call_id, user.username


async def _had_call(request: web.Request, call_id: str, user) -> bool:
    redis, keys = request.app[REDIS], request.app[KEYS]
    if await redis.hexists(keys.call_agents(call_id), user.username):
        return True
    raw = await redis.get(keys.call(call_id))
    try:
        update = CallUpdate.from_json(raw) if raw else None
    except EnvelopeError:
        return False
    return update is not None and any(ep in update.agents for ep in user.endpoints)


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
    call_id, _ = await _caller(request)
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
    return web.json_response({"operations": [op.public() for op in ops]})


async def documents(request: web.Request) -> web.Response:
    call_id, username = await _caller(request)
    if (request.content_length or 0) > HARD_CAP_BYTES:
        return web.json_response({"error": "too_large", "message": TOO_LARGE}, status=413,
                                 headers={"Connection": "close"})
    if not request.content_type.startswith("multipart/"):
        return web.json_response({"error": "bad_request", "message": "Envíe el archivo como formulario."},
                                 status=400)
    kind, content, too_large = "other", None, False
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if part.name == "kind":
            kind = (await part.read(decode=True)).decode(errors="replace")[:40]
        elif part.name == "file" and content is None:
            chunks, size = [], 0
            while chunk := await part.read_chunk(256 * 1024):
                size += len(chunk)
                if size > HARD_CAP_BYTES:
                    return web.json_response({"error": "too_large", "message": TOO_LARGE},
                                             status=413, headers={"Connection": "close"})
                if size <= MAX_FILE_BYTES:
                    chunks.append(chunk)
            too_large = size > MAX_FILE_BYTES
            content = b"".join(chunks)
        else:
            await part.release()
    if too_large:
        return web.json_response({"error": "too_large", "message": TOO_LARGE}, status=413)
    if not content:
        return web.json_response({"error": "no_file", "message": "No llegó ningún archivo."},
                                 status=400)
    actions = request.app[ACTIONS]

    async def run() -> web.Response:
        op = await actions.upload(call_id, username, kind, content)
        return web.json_response({"operation": op.public()})
    return await _act(request, run)
