"""What one call update does to Redis, written by `telephony` and read by every `screenpop` node:
the call's latest envelope (`keys.call`, expires), its id in the live set of each agent endpoint
ringing or connected in it (`keys.endpoint_calls`, expires), and the envelope on the call bus
(`keys.calls_channel`).

One function queues those commands on a pipeline, so the publisher and the tests that stand in
for telephony write exactly the same layout.
"""
from __future__ import annotations

import logging

from common.envelope import CallUpdate, EnvelopeError
from common.keys import CALL_STATE_TTL_SECONDS, ENDED_CALL_TTL_SECONDS, Keys

log = logging.getLogger(__name__)

LIVE_LEG_STATES = frozenset({"ringing", "answered"})


def is_live_leg(update: CallUpdate, leg: str) -> bool:
    """The endpoint's phone is alerting or connected in a call that has not ended."""
    return update.state != "ended" and leg in LIVE_LEG_STATES


def queue_call_update(pipe, keys: Keys, update: CallUpdate) -> None:
    """Queue on `pipe` (a redis-py pipeline; run it as a transaction so readers never see a call
    without its endpoint sets) the writes of one update, publication included."""
    ttl = ENDED_CALL_TTL_SECONDS if update.state == "ended" else CALL_STATE_TTL_SECONDS
    payload = update.to_json()
    pipe.set(keys.call(update.call_id), payload, ex=ttl)
    for endpoint, leg in update.agents.items():
        members = keys.endpoint_calls(endpoint)
        if is_live_leg(update, leg):
            pipe.sadd(members, update.call_id)
        else:
            pipe.srem(members, update.call_id)
        pipe.expire(members, CALL_STATE_TTL_SECONDS)
    pipe.publish(keys.calls_channel, payload)


def read_call_state(raw: str | bytes | None) -> CallUpdate | None:
    """The envelope stored at `keys.call` (None when absent or unreadable, which is logged)."""
    if raw is None:
        return None
    try:
        return CallUpdate.from_json(raw)
    except EnvelopeError:
        log.warning("unreadable call state in Redis: %.80r", raw)
        return None
