"""Never miss a pop: each browser acknowledges the pops it displayed.

The first acknowledgement of a pop (agent, call, seq), from whichever tab or node, records the
time from the telephony event to the ack (`screenpop_pop_ack_seconds`). For every agent a live
call rings or connects at, exactly one node (the first to claim it in Redis) checks that some tab
of the agent, on any node, acknowledged it within the deadline; if none did — a frozen tab, or no
browser open at all — the agent is marked unreachable (cleared by their next ack). A "seen" ack
(the agent looked at the pop) is relayed to all the agent's tabs as `acked`, so they stop
alerting.

Only the acks of a call the sender's endpoint is in are recorded (anything else would be junk kept
in Redis); every key written here expires with the call's state.
"""
from __future__ import annotations

import asyncio
import heapq
import json
import logging
import time
from collections import OrderedDict

from redis.exceptions import RedisError

from common.keys import CALL_STATE_TTL_SECONDS, Keys
from common.tasks import cancel_requested
from screenpop import agents
from screenpop.calls.access import CallAccess
from screenpop.push import protocol
from screenpop.users import User
from screenpop.web.metrics import Metrics

log = logging.getLogger(__name__)

EVENTS_KEPT = 5000
COMMAND_TIMEOUT = 5.0
# Sets the acked seq when it is higher and (re)sets the hash's expiry in the same step, so the
# hash never exists without one; 1 when this ack is the first for that seq.
_ACK_SCRIPT = """
local seen = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '-1')
local seq = tonumber(ARGV[2])
local first = 0
if seq > seen then redis.call('HSET', KEYS[1], ARGV[1], seq) first = 1 end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return first
"""


class AckTracker:
    def __init__(self, redis, keys: Keys, metrics: Metrics, states: agents.AgentStateStore,
                 access: CallAccess, deadline: float) -> None:
        self._redis = redis
        self._access = access
        self._keys = keys
        self._metrics = metrics
        self._states = states
        self._deadline = deadline
        self._event_at: OrderedDict[tuple[str, str, int], float] = OrderedDict()
        self._claimed: OrderedDict[tuple[str, str], None] = OrderedDict()  # tried here, won or lost
        self._due: list[tuple[float, str, str, int]] = []
        self._wake = asyncio.Event()
        self._script = redis.register_script(_ACK_SCRIPT)

    def expect(self, username: str, pop: dict) -> None:
        """A pop was queued for the agent's sockets on this node: remember when its event
        happened, for the ack latency."""
        key = (username, str(pop["call_id"]), int(pop.get("seq") or 0))
        self._event_at[key] = float(pop.get("event_at") or 0.0)
        self._event_at.move_to_end(key)
        while len(self._event_at) > EVENTS_KEPT:
            self._event_at.popitem(last=False)

    async def watch(self, username: str, call_id: str, seq: int) -> None:
        """A live call reached the agent's endpoint: unless another node already does, check
        after the deadline that a browser of the agent acknowledged it (seq or later). The later
        updates of the same call cost nothing: this node already knows how its claim went."""
        if (username, call_id) in self._claimed:
            return
        key = self._keys.call_ack_watches(call_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(key, username, 1)
            pipe.expire(key, CALL_STATE_TTL_SECONDS)
            claimed, _ = await asyncio.wait_for(pipe.execute(), COMMAND_TIMEOUT)
        self._claimed[(username, call_id)] = None
        while len(self._claimed) > EVENTS_KEPT:
            self._claimed.popitem(last=False)
        if claimed:
            heapq.heappush(self._due, (time.monotonic() + self._deadline, username, call_id, seq))
            self._wake.set()

    async def ack(self, user: User, call_id: str, seq: int, seen: bool) -> bool:
        """Record a browser's ack; False (nothing written) when the call is not the user's."""
        if not await asyncio.wait_for(self._access.in_call(user, call_id), COMMAND_TIMEOUT):
            return False
        username = user.username
        first = await asyncio.wait_for(self._script(
            keys=[self._keys.call_acks(call_id)], args=[username, seq, CALL_STATE_TTL_SECONDS]),
            COMMAND_TIMEOUT)
        event_at = self._event_at.get((username, call_id, seq))
        if first and event_at:
            self._metrics.ack_latency.observe(max(0.0, time.time() - event_at))
        await self._states.update(username, agents.mark_reachable)
        if seen:
            await self._redis.publish(self._keys.agent_channel(username),
                                      json.dumps(protocol.acked(call_id, seq)))
        return True

    async def run(self) -> None:
        while not cancel_requested():
            wait = self._due[0][0] - time.monotonic() if self._due else None
            self._wake.clear()
            if wait is None or wait > 0:
                try:
                    await asyncio.wait_for(self._wake.wait(), wait)
                except TimeoutError:
                    pass
                continue
            _, username, call_id, seq = heapq.heappop(self._due)
            try:
                await self._check(username, call_id, seq)
            except (RedisError, OSError, TimeoutError) as exc:
                self._metrics.errors.labels("acks").inc()
                log.warning("could not check the ack of agent=%s call=%s: %s", username,
                            call_id, exc)

    async def _check(self, username: str, call_id: str, seq: int) -> None:
        acked = await asyncio.wait_for(self._redis.hget(self._keys.call_acks(call_id), username),
                                       COMMAND_TIMEOUT)
        if acked is not None and int(acked) >= seq:
            return
        self._metrics.unacked.inc()
        log.warning("pop not acknowledged in time, agent unreachable agent=%s call=%s seq=%d",
                    username, call_id, seq)
        await self._states.update(
            username, lambda state: agents.mark_unreachable(state, call_id, time.time()))
