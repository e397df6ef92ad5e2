"""The `callback` FastAGI script: a caller waiting in a queue asks to be called back instead.

    AGI(agi://host/callback?queue=ventas&entered=<epoch>&preinst=<id>&call=<linkedid>)

The request keeps the caller's place: it is stored under the queue with the time the caller
joined it as its score (common.keys.Keys.callback_requests), so callbacks are dialled in the
order the callers would have been answered. A number that already waits in the queue (or is
being dialled for it) keeps the request it has, and its place: asking twice is not two
callbacks. Sets SP_CALLBACK to `ok`, or `no-number` when the caller ID cannot be called back; on
any failure it sets nothing and the dialplan's default (`failed`) sends the caller back to the
queue.
"""
from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError

from common.keys import Keys
from common.phones import to_e164
from telephony.ivr.lookup import within
from telephony.ivr.session import AgiSession

log = logging.getLogger(__name__)

_QUEUE = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_ID = re.compile(r"[\w.-]{1,64}")


def callback_request(env: dict[str, str], query: dict[str, str],
                     now: float) -> tuple[str, float, str] | str:
    """(queue, place in line, request JSON) for a valid request, else the reason it is not."""
    queue = query.get("queue", "")
    if not _QUEUE.fullmatch(queue):
        return f"no valid queue name ({queue[:40]!r})"
    number = to_e164(env.get("agi_callerid"))
    if number is None:
        return "no-number"
    try:
        entered = float(query.get("entered") or now)
    except ValueError:
        entered = now
    preinst, call = query.get("preinst", ""), query.get("call", "")
    request = {"number": number, "queue": queue, "requested_at": now,
               "preinstallation_id": preinst if _ID.fullmatch(preinst) else None,
               "call_id": call if _ID.fullmatch(call) else None}
    return queue, min(entered, now), json.dumps(request, separators=(",", ":"))


# KEYS: requests, processing, queues. ARGV: request JSON, place, number, queue, channel.
# 1 when stored; 0 when the number already waits or is being dialled.
_STORE = """
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if cjson.decode(member).number == ARGV[3] then return 0 end
end
for _, member in ipairs(redis.call('HKEYS', KEYS[2])) do
  if cjson.decode(member).number == ARGV[3] then return 0 end
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[4])
redis.call('PUBLISH', ARGV[5], ARGV[4])
return 1
"""


def create_callback(redis, keys: Keys, *, budget: float,
                    clock: Callable[[], float] = time.time) -> Callable[[AgiSession], Awaitable[None]]:
    store = redis.register_script(_STORE)

    async def callback(session: AgiSession) -> None:
        request = callback_request(session.env, session.script.query, clock())
        if request == "no-number":
            log.info("agi callback refused channel=%s: caller ID %r cannot be called back",
                     session.channel, session.env.get("agi_callerid"))
            await session.set_variable("SP_CALLBACK", "no-number")
            return
        if isinstance(request, str):
            log.warning("agi callback refused channel=%s: %s", session.channel, request)
            return
        queue, place, payload = request
        try:
            stored = await within(budget, store(
                keys=[keys.callback_requests(queue), keys.callbacks_processing(queue),
                      keys.callback_queues],
                args=[payload, place, json.loads(payload)["number"], queue,
                      keys.callbacks_channel]))
        except (TimeoutError, RedisError, OSError) as exc:
            log.warning("agi callback not stored channel=%s queue=%s: %s", session.channel,
                        queue, type(exc).__name__)
            return
        if stored:
            log.info("agi callback requested channel=%s queue=%s place=%.0f", session.channel,
                     queue, place)
        else:
            log.info("agi callback already waiting channel=%s queue=%s: the number keeps its "
                     "place", session.channel, queue)
        await session.set_variable("SP_CALLBACK", "ok")

    return callback
