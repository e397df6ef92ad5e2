"""The guided call over HTTP: the script rendered for this agent, customer and moment, and the
agent's progress through it (saved per call; every tab of the agent gets the new state)."""
from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from common.envelope import CallUpdate, EnvelopeError
from common.phones import to_e164
from screenpop.operations.store import OperationStore
from screenpop.pops import PROTOCOL_VERSION, record_payload
from screenpop.script.answers import AnswerError
from screenpop.script.progress import CALL_PROGRESS_TTL_SECONDS, CallProgress
from screenpop.script.steps import render_script
from screenpop.script.work import CallWork
from screenpop.users import User
from screenpop.web import auth
from screenpop.web.state import INDEX, KEYS, PROGRESS, PROVIDER, REDIS
from screenpop.wisphub.models import Preinstallation

log = logging.getLogger(__name__)


async def get_script(request: web.Request) -> web.Response:
    _, user = await auth.require_api(request)
    call_id = request.match_info["call_id"]
    if not await _may_use(request, user, call_id):
        return web.json_response({"error": "not_your_call"}, status=403)
    progress = await request.app[PROGRESS].get(call_id)
    return web.json_response(await script_payload(request.app, user, progress))


async def save_progress(request: web.Request) -> web.Response:
    _, user, body = await auth.require_json_post(request)
    step = body.get("step") if isinstance(body, dict) else None
    answers = body.get("answers") if isinstance(body, dict) else None
    if (not isinstance(body, dict) or not isinstance(step, (str, type(None)))
            or not isinstance(answers, (dict, type(None))) or (step is None and not answers)):
        return web.json_response({"error": "step_or_answers_required"}, status=400)
    call_id = request.match_info["call_id"]
    if not await _may_use(request, user, call_id):
        return web.json_response({"error": "not_your_call"}, status=403)
    try:
        progress = await request.app[PROGRESS].save(call_id, step=step, answers=answers,
                                                   by=user.username)
    except AnswerError as exc:
        return web.json_response({"error": "invalid_answer", "field": exc.key,
                                  "message": str(exc)}, status=400)
    payload = await script_payload(request.app, user, progress)
    app = request.app
    await app[REDIS].publish(app[KEYS].agent_channel(user.username), json.dumps(payload))
    return web.json_response(payload)


async def publish_script(app: web.Application, user: User, call_id: str) -> None:
    """Send the call's script, as it is now, to every tab of the agent (e.g. after linking)."""
    payload = await script_payload(app, user, await app[PROGRESS].get(call_id))
    await app[REDIS].publish(app[KEYS].agent_channel(user.username), json.dumps(payload))


async def script_payload(app: web.Application, user: User,
                         progress: CallProgress) -> dict[str, Any]:
    """The script message: steps rendered with what the pop already did in WispHub for this
    call, and the record as it stands now (FALTA, activated or not)."""
    record, direction = await _record(app, progress.call_id)
    operations = await OperationStore(app[REDIS], app[KEYS]).list(progress.call_id)
    work = CallWork.from_operations(operations)
    index = app[INDEX]
    installed = await index.installed(record.id) if record else None
    if record is not None and work.activated and installed is None:
        await index.mark_installed(record.id, work.activation_reference)
        installed = await index.installed(record.id)
    if installed is not None and not work.activated:
        work = replace(work, activated=True, activation_reference=installed.reference)
    script = render_script(app[PROVIDER], record=record, agent_name=user.display_name,
                           answers=progress.answers, now=datetime.now(UTC), work=work,
                           direction=direction)
    return {"type": "script", "version": PROTOCOL_VERSION, "call_id": progress.call_id,
            "record_id": record.id if record else None, "script": script,
            "record": record_payload(record, missing=script["missing"], installed=installed)
            if record else None,
            "progress": progress.to_dict()}


async def _may_use(request: web.Request, user: User, call_id: str) -> bool:
    """The call rings or is connected at one of the user's endpoints, or the user answered it."""
    keys = request.app[KEYS]
    async with request.app[REDIS].pipeline(transaction=False) as pipe:
        for endpoint in user.endpoints:
            pipe.sismember(keys.endpoint_calls(endpoint), call_id)
        pipe.hexists(keys.call_agents(call_id), user.username)
        return any(await pipe.execute())


async def _record(app: web.Application, call_id: str) -> tuple[Preinstallation | None, str]:
    """(record, call direction). The record the agent linked, else the only match of the
    caller's number, else the one used before (the call's state expires soon after it ends;
    the progress does not)."""
    keys, redis, index = app[KEYS], app[REDIS], app[INDEX]
    link, raw, remembered = await redis.mget(keys.call_link(call_id), keys.call(call_id),
                                             keys.call_record(call_id))
    try:
        update = CallUpdate.from_json(raw) if raw else None
    except EnvelopeError:
        update = None
    direction = update.direction if update else "inbound"
    record = await index.get(link) if link else None
    if record is None and update is not None:
        number = to_e164(update.customer_number)
        match = await index.match(number) if number else None
        if match is not None and match.status == "one":
            record = match.preinstallations[0]
    if record is not None:
        if record.id != remembered:
            await redis.set(keys.call_record(call_id), record.id, ex=CALL_PROGRESS_TTL_SECONDS)
        return record, direction
    return (await index.get(remembered) if remembered else None), direction
