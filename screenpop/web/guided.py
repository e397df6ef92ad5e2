"""The guided call over HTTP: the script rendered for this agent, customer and moment, and the
agent's progress through it (saved per call; every tab of the agent gets the new state)."""
from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from common.envelope import CallUpdate, EnvelopeError
from common.phones import to_e164
from screenpop.pops import PROTOCOL_VERSION
from screenpop.script.answers import AnswerError
from screenpop.script.progress import CALL_PROGRESS_TTL_SECONDS, CallProgress
from screenpop.script.steps import render_script
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
    return web.json_response(await _payload(request, user, progress))


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
    payload = await _payload(request, user, progress)
    app = request.app
    await app[REDIS].publish(app[KEYS].agent_channel(user.username), json.dumps(payload))
    return web.json_response(payload)


async def _payload(request: web.Request, user: User, progress: CallProgress) -> dict[str, Any]:
    record = await _record(request, progress.call_id)
    script = render_script(request.app[PROVIDER], record=record, agent_name=user.display_name,
                           answers=progress.answers, now=datetime.now(UTC))
    return {"type": "script", "version": PROTOCOL_VERSION, "call_id": progress.call_id,
            "record_id": record.id if record else None, "script": script,
            "progress": progress.to_dict()}


async def _may_use(request: web.Request, user: User, call_id: str) -> bool:
    """The call rings or is connected at one of the user's endpoints, or the user answered it."""
    keys = request.app[KEYS]
    async with request.app[REDIS].pipeline(transaction=False) as pipe:
        for endpoint in user.endpoints:
            pipe.sismember(keys.endpoint_calls(endpoint), call_id)
        pipe.hexists(keys.call_agents(call_id), user.username)
        return any(await pipe.execute())


async def _record(request: web.Request, call_id: str) -> Preinstallation | None:
    """The record the agent linked, else the only match of the caller's number, else the one
    used before (the call's state expires soon after it ends; the progress does not)."""
    app = request.app
    keys, redis, index = app[KEYS], app[REDIS], app[INDEX]
    link, raw, remembered = await redis.mget(keys.call_link(call_id), keys.call(call_id),
                                             keys.call_record(call_id))
    record = await index.get(link) if link else None
    if record is None and raw:
        try:
            number = to_e164(CallUpdate.from_json(raw).customer_number)
        except EnvelopeError:
            number = None
        match = await index.match(number) if number else None
        if match is not None and match.status == "one":
            record = match.preinstallations[0]
    if record is not None:
        if record.id != remembered:
            await redis.set(keys.call_record(call_id), record.id, ex=CALL_PROGRESS_TTL_SECONDS)
        return record
    return await index.get(remembered) if remembered else None
