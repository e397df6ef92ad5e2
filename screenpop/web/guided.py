"""The guided call over HTTP: the script rendered for this agent, customer and moment, and the
agent's progress through it (saved per call; every tab of the agent gets the new state). Who may
read or save it, and which record it is about: screenpop.calls."""
from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from common.envelope import CallUpdate
from screenpop.calls.access import Need
from screenpop.operations.store import OperationStore
from screenpop.pops import record_payload
from screenpop.push import protocol
from screenpop.records import CALL_LOG
from screenpop.script.answers import AnswerError
from screenpop.script.progress import CallProgress
from screenpop.script.steps import render_script
from screenpop.script.work import CallWork
from screenpop.users import User
from screenpop.web import auth
from screenpop.web.call_routes import require_call
from screenpop.web.state import CALL_RECORDS, INDEX, KEYS, PROGRESS, PROVIDER, REDIS

log = logging.getLogger(__name__)


async def get_script(request: web.Request) -> web.Response:
    _, user = await auth.require_api(request)
    grant = await require_call(request, user, Need.READ)
    progress = await request.app[PROGRESS].get(grant.call_id)
    return web.json_response(await script_payload(request.app, user, progress, grant.update))


async def save_progress(request: web.Request) -> web.Response:
    _, user, body = await auth.require_json_post(request)
    step = body.get("step") if isinstance(body, dict) else None
    answers = body.get("answers") if isinstance(body, dict) else None
    if (not isinstance(body, dict) or not isinstance(step, (str, type(None)))
            or not isinstance(answers, (dict, type(None))) or (step is None and not answers)):
        return web.json_response({"error": "step_or_answers_required"}, status=400)
    grant = await require_call(request, user, Need.PREPARE)
    try:
        progress = await request.app[PROGRESS].save(grant.call_id, step=step, answers=answers,
                                                   by=user.username)
    except AnswerError as exc:
        return web.json_response({"error": "invalid_answer", "field": exc.key,
                                  "message": str(exc)}, status=400)
    request.app[CALL_LOG].progress(progress, by=user.username)
    payload = await script_payload(request.app, user, progress, grant.update)
    app = request.app
    await app[REDIS].publish(app[KEYS].agent_channel(user.username), json.dumps(payload))
    return web.json_response(payload)


async def publish_script(app: web.Application, user: User, call_id: str,
                         update: CallUpdate | None) -> None:
    """Send the call's script, as it is now, to every tab of the agent (e.g. after linking)."""
    payload = await script_payload(app, user, await app[PROGRESS].get(call_id), update)
    await app[REDIS].publish(app[KEYS].agent_channel(user.username), json.dumps(payload))


async def script_payload(app: web.Application, user: User, progress: CallProgress,
                         update: CallUpdate | None) -> dict[str, Any]:
    """The script message: steps rendered with what the pop already did in WispHub for this
    call, and the record as it stands now (FALTA, activated or not). `update` is the call's
    latest envelope when Redis still has it (its direction picks the greeting)."""
    subject = await app[CALL_RECORDS].subject(progress.call_id)
    record, installed = subject.record, subject.installed
    operations = await OperationStore(app[REDIS], app[KEYS]).list(progress.call_id)
    work = CallWork.from_operations(operations)
    if record is not None and work.activated and installed is None:
        index = app[INDEX]
        await index.mark_installed(record.id, work.activation_reference)
        installed = await index.installed(record.id)
    if installed is not None and not work.activated:
        work = replace(work, activated=True, activation_reference=installed.reference)
    direction = update.direction if update is not None else "inbound"
    script = render_script(app[PROVIDER], record=record, agent_name=user.display_name,
                           answers=progress.answers, now=datetime.now(UTC), work=work,
                           direction=direction)
    payload = record_payload(record, missing=script["missing"], installed=installed) \
        if record is not None else None
    return protocol.script(progress.call_id, record.id if record else None, script,
                           progress.to_dict(), record=payload)
