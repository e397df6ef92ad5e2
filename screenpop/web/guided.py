"""The guided call over HTTP: the script rendered for this agent, customer and moment, and the
agent's progress through it (saved per call; every tab of the agent gets the new state). Who may
read or save it, and which record it is about: screenpop.calls."""
from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from screenpop.calls.access import Need
from screenpop.push import protocol
from screenpop.records import CALL_LOG
from screenpop.script.answers import AnswerError
from screenpop.script.progress import CallProgress
from screenpop.script.steps import render_script
from screenpop.users import User
from screenpop.web import auth
from screenpop.web.call_routes import require_call
from screenpop.web.state import CALL_RECORDS, KEYS, PROGRESS, PROVIDER, REDIS

log = logging.getLogger(__name__)


async def get_script(request: web.Request) -> web.Response:
    _, user = await auth.require_api(request)
    grant = await require_call(request, user, Need.READ)
    progress = await request.app[PROGRESS].get(grant.call_id)
    return web.json_response(await _payload(request, user, progress))


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
    payload = await _payload(request, user, progress)
    app = request.app
    await app[REDIS].publish(app[KEYS].agent_channel(user.username), json.dumps(payload))
    return web.json_response(payload)


async def _payload(request: web.Request, user: User, progress: CallProgress) -> dict[str, Any]:
    record = (await request.app[CALL_RECORDS].subject(progress.call_id)).record
    rendered = render_script(request.app[PROVIDER], record=record, agent_name=user.display_name,
                             answers=progress.answers, now=datetime.now(UTC))
    return protocol.script(progress.call_id, record.id if record else None, rendered,
                           progress.to_dict())
