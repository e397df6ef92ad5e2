"""Callbacks the IVR took from waiting callers, dialled in turn (issue 11 part 3).

A caller who pressed 1 in a queue left a request in `Keys.callback_requests(queue)` scored with
the time they joined the queue (telephony.ivr.callback). A request is dialled when
(a) an agent who is a member of that queue is available (`Keys.agent_state`: state available, not
    reserved by a dialer engine), and
(b) no caller still waiting in that queue joined it before the request's caller did
    (telephony.queue_waits, folded from QueueCallerJoin/Leave),
so the caller keeps their place: called back when their turn would have come, paced to free
agents, never ahead of those who were in line before them. The agent's phone rings first
(agent-first Originate through the dialer's executor), then the caller's number; the call's
SP_CALL (`callback-…`) makes the agent's pop say «Devolución de llamada», and PREINST_ID and the
number bring up the caller's record.

Claims are atomic (a Lua script moves the request from the queue's sorted set to a processing
hash with a lease), so two telephony processes never dial one request twice; a lease that runs out
(its process died) puts the request back at its place. A callback that fails (no answer, busy…)
is tried again after `retry_delay` up to `attempts` times, then recorded as failed in
`Keys.callbacks_finished(queue)`.

    dispatcher = CallbackDispatcher(redis, keys, placer, waits, settings, worker="telephony-1")
    dispatcher.start(); ...; await dispatcher.stop()
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from redis.exceptions import RedisError

from common.dialer.outcomes import Order
from common.keys import Keys
from telephony.dialer.originate import OriginateExecutor, OriginateRequest
from telephony.queue_waits import QueueWaits

log = logging.getLogger(__name__)

CALLBACK_PREFIX = "callback-"  # of the attempt id (SP_CALL) a callback's Originate carries
SCAN = 50  # requests read from the head of a queue per round
FINISHED_KEPT = 200
REDIS_TIMEOUT = 2.0
STOP_TIMEOUT = 5.0
CONNECTED = "connected"
# the dialler died or lost AMI before the outcome was known: not counted against the caller
INTERRUPTED = "interrupted"
INTERRUPTED_RETRY = 30.0

# KEYS: requests, processing. ARGV: member, place, lease JSON. 1 when this caller claimed it.
_CLAIM = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
  return 1
end
return 0
"""
# KEYS: requests, processing. ARGV: now. Requests whose lease ran out go back to their place.
_RECOVER = """
local back = 0
local entries = redis.call('HGETALL', KEYS[2])
for i = 1, #entries, 2 do
  local lease = cjson.decode(entries[i + 1])
  if tonumber(lease.lease_until) < tonumber(ARGV[1]) then
    redis.call('ZADD', KEYS[1], lease.place, entries[i])
    redis.call('HDEL', KEYS[2], entries[i])
    back = back + 1
  end
end
return back
"""
# KEYS: processing, requests. ARGV: member, worker, new member ('' = none), place.
# Only the worker holding the lease may release it (a lease recovered and claimed again by
# another worker stays theirs).
_RELEASE = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
if cjson.decode(raw).worker ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
if ARGV[3] ~= '' then redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3]) end
return 1
"""
# KEYS: processing. ARGV: member, worker, lease JSON.
_RENEW = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if raw and cjson.decode(raw).worker == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 1
end
return 0
"""
# KEYS: reservation. ARGV: token. Deletes it only while it is still ours.
_UNRESERVE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class CallbackSettings:
    queues: Mapping[str, tuple[str, ...]]  # queue → member endpoints (PJSIP/6001…)
    attempts: int = 3                      # dials before a callback is recorded as failed
    retry_delay: float = 300.0             # seconds between two dials of one callback
    interval: float = 2.0                  # seconds between two looks at the queues
    lease: float = 300.0                   # a claim not renewed within this is taken back


@dataclass(frozen=True)
class Request:
    member: str           # the sorted-set member, exactly as stored
    place: float          # when the caller joined the queue
    data: dict            # its decoded JSON

    @property
    def attempts(self) -> int:
        return int(self.data.get("attempts") or 0)

    @property
    def not_before(self) -> float:
        return float(self.data.get("not_before") or 0.0)

    @property
    def id(self) -> str:
        """Stable across retries (the member changes as attempts are counted)."""
        base = {k: v for k, v in self.data.items()
                if k not in ("attempts", "not_before", "last_outcome")}
        return hashlib.sha1(json.dumps(base, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class CallbackCall:
    """One dial, agent first: ring `endpoint`, then `number`. `attempt_id` becomes the call's
    SP_CALL channel variable (`callback-…`: the pop says «Devolución de llamada»)."""
    queue: str
    endpoint: str
    number: str                     # digits the dialplan's `dialer` context dials
    attempt_id: str
    channel_id: str                 # the Originate ChannelId: the call id of every event
    preinstallation_id: str | None  # PREINST_ID
    requested_in_call: str | None   # the call the caller asked from


class Placer(Protocol):
    async def place(self, call: CallbackCall) -> str:
        """Dial and return the outcome (common.dialer.outcomes.Outcome values: `connected`, or
        `no_answer`, `busy`, `failed`, `agent_rejected`, `interrupted`…) once it is known."""


class ExecutorPlacer:
    """Dials through the dialer's Originate executor (telephony.dialer.originate), on the
    telephony process's AMI session; it waits for the attempt's outcome."""

    def __init__(self, executor: OriginateExecutor, *, ring_seconds: float = 30.0,
                 caller_id: str | None = None) -> None:
        self._executor = executor
        self._ring_seconds = ring_seconds
        self._caller_id = caller_id

    async def place(self, call: CallbackCall) -> str:
        request = OriginateRequest(
            attempt_id=call.attempt_id, channel_id=call.channel_id, order=Order.AGENT_FIRST,
            number=call.number, endpoint=call.endpoint, caller_id=self._caller_id,
            preinstallation_id=call.preinstallation_id, ring_seconds=self._ring_seconds)
        return str((await self._executor.place(request)).outcome)


# --- pure decisions ---------------------------------------------------------------------------

def read_requests(raw: Sequence[tuple[str, float]]) -> list[Request]:
    out = []
    for member, score in raw:
        try:
            data = json.loads(member)
        except ValueError:
            data = None
        if isinstance(data, dict) and data.get("number"):
            out.append(Request(member, float(score), data))
        else:
            log.warning("callback request unreadable, left in place: %.120r", member)
    return out


def next_due(requests: Sequence[Request], *, now: float,
             earliest_waiting: float | None) -> Request | None:
    """The request to dial now, in order of place: the first whose retry time has come, unless a
    caller still in the queue joined before it (then nobody after it may go either)."""
    for request in requests:
        if earliest_waiting is not None and earliest_waiting < request.place:
            return None
        if request.not_before <= now:
            return request
    return None


def dial_number(e164: str) -> str:
    """What the trunk dials: Mexican numbers as their 10 national digits (the dialplan's
    `_NXXXXXXXXX`), others as digits without the `+`."""
    digits = e164.lstrip("+")
    if e164.startswith("+52") and len(digits) == 12:
        return digits[2:]
    return digits


def call_for(request: Request, queue: str, endpoint: str) -> CallbackCall:
    data = request.data
    # unique per dial, also when a request a dead process was dialling is dialled again with
    # the same count: the ChannelId becomes the call's id in the tracker and the call records
    dial = f"{request.id}-{request.attempts + 1}-{uuid.uuid4().hex[:8]}"
    preinst = data.get("preinstallation_id")
    return CallbackCall(queue=queue, endpoint=endpoint, number=dial_number(str(data["number"])),
                        attempt_id=f"{CALLBACK_PREFIX}{dial}", channel_id=f"cb-{dial}",
                        preinstallation_id=str(preinst) if preinst else None,
                        requested_in_call=data.get("call_id"))


def after_attempt(request: Request, outcome: str, *, now: float, attempts: int,
                  retry_delay: float) -> tuple[str | None, dict | None]:
    """(member to put back in line, finished record): exactly one of them is set."""
    tried = request.attempts + 1
    if outcome == INTERRUPTED:
        again = {**request.data, "not_before": now + min(retry_delay, INTERRUPTED_RETRY),
                 "last_outcome": outcome}
        return json.dumps(again, separators=(",", ":")), None
    if outcome == CONNECTED:
        return None, {**_base(request), "outcome": CONNECTED, "attempts": tried,
                      "finished_at": now}
    if tried < attempts:
        again = {**request.data, "attempts": tried, "not_before": now + retry_delay,
                 "last_outcome": outcome}
        return json.dumps(again, separators=(",", ":")), None
    return None, {**_base(request), "outcome": "failed", "last_outcome": outcome,
                  "attempts": tried, "finished_at": now}


def _base(request: Request) -> dict:
    return {k: v for k, v in request.data.items() if k not in ("not_before",)}


# --- the loop ---------------------------------------------------------------------------------

@dataclass
class DispatcherStats:
    dialled: int = 0
    connected: int = 0
    retried: int = 0
    failed: int = 0
    recovered: int = 0
    errors: int = 0
    last_error: str | None = None


@dataclass
class _Held:
    request: Request
    queue: str
    reservation: tuple[str, str] | None = None  # (key, token)


class CallbackDispatcher:
    def __init__(self, redis, keys: Keys, placer: Placer, waits: QueueWaits,
                 settings: CallbackSettings, *, worker: str,
                 clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._keys = keys
        self._placer = placer
        self._waits = waits
        self._settings = settings
        self._worker = worker
        self._clock = clock
        self._claim = redis.register_script(_CLAIM)
        self._recover = redis.register_script(_RECOVER)
        self._release = redis.register_script(_RELEASE)
        self._renew = redis.register_script(_RENEW)
        self._unreserve = redis.register_script(_UNRESERVE)
        self._task: asyncio.Task | None = None
        self._calls: set[asyncio.Task] = set()
        self.stats = DispatcherStats()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="queue-callbacks")
        log.info("queue callbacks on for %s (worker %s)", ",".join(self._settings.queues),
                 self._worker)

    def collect(self) -> Iterator[Metric]:
        stats = self.stats
        counts = CounterMetricFamily("telephony_callbacks", "Queue callbacks, by what happened",
                                     labels=["event"])
        for event in ("dialled", "connected", "retried", "failed", "recovered", "errors"):
            counts.add_metric([event], getattr(stats, event))
        yield counts
        yield GaugeMetricFamily("telephony_callbacks_dialling", "Queue callbacks being dialled",
                                value=len(self._calls))

    async def stop(self) -> None:
        """Cancels the loop and the dials in progress; waits for them at most STOP_TIMEOUT (a
        dial's lease runs out and another process takes its request back)."""
        tasks = [t for t in (self._task, *self._calls) if t is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=STOP_TIMEOUT)
            if pending:
                log.warning("queue callbacks: %d dials did not stop in %.0f s", len(pending),
                            STOP_TIMEOUT)
        self._task = None

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                async with asyncio.timeout(REDIS_TIMEOUT * 4):
                    await self.run_once()
                failures = 0
                delay = self._settings.interval
            except (RedisError, OSError, TimeoutError) as exc:
                failures += 1
                self.stats.errors += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}"[:200]
                log.warning("queue callbacks: Redis unavailable (%s); trying again", exc)
                delay = min(self._settings.interval * 2 ** failures, 30.0)
            await asyncio.sleep(delay)

    async def run_once(self) -> list[asyncio.Task]:
        """One look at every queue: recover lost leases, then claim and dial what is due.
        Returns the dials started (tests await them)."""
        started = []
        for queue, members in self._settings.queues.items():
            keys = [self._keys.callback_requests(queue), self._keys.callbacks_processing(queue)]
            recovered = await self._recover(keys=keys, args=[self._clock()])
            if recovered:
                self.stats.recovered += recovered
                log.warning("queue callbacks: %d request(s) of %s taken back from a lost "
                            "dialler", recovered, queue)
                await self._changed(queue)
            while True:
                task = await self._dial_next(queue, members, keys)
                if task is None:
                    break
                started.append(task)
        return started

    async def _dial_next(self, queue: str, members: Sequence[str],
                         keys: list[str]) -> asyncio.Task | None:
        raw = await self._redis.zrange(keys[0], 0, SCAN - 1, withscores=True)
        request = next_due(read_requests(raw), now=self._clock(),
                           earliest_waiting=self._waits.earliest(queue))
        if request is None:
            return None
        reserved = await self._reserve_agent(members, request)
        if reserved is None:
            return None  # nobody free: the request keeps its place
        endpoint, reservation = reserved
        held = _Held(request, queue, reservation)
        lease = self._lease(request)
        if not await self._claim(keys=keys, args=[request.member, request.place, lease]):
            await self._unreserve(keys=[reservation[0]], args=[reservation[1]])
            return None  # another process took it this instant; look again next round
        await self._changed(queue)
        call = call_for(request, queue, endpoint)
        task = asyncio.create_task(self._dial(held, call), name=f"callback-{request.id}")
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)
        return task

    async def _reserve_agent(self, members: Sequence[str],
                             request: Request) -> tuple[str, tuple[str, str]] | None:
        """An available member agent, reserved (the dialer engines honour the same key). Who
        is at which phone comes from the agents' live states (screenpop keeps each signed-in
        agent's endpoint there)."""
        token = f"callback-{request.id}"
        keys = self._keys
        usernames = sorted(_text(name) for name in await self._redis.smembers(keys.agent_states))
        async with self._redis.pipeline(transaction=False) as pipe:
            for username in usernames:
                pipe.hmget(keys.agent_state(username), ["state", "unreachable", "endpoint"])
            states = await pipe.execute()
        at_endpoint: dict[str, list[str]] = {}
        for username, (state, unreachable, endpoint) in zip(usernames, states, strict=True):
            if agent_state(state) != "available" or agent_state(unreachable) is True:
                continue  # busy, paused, signed out, or not acknowledging its pops
            if isinstance(phone := agent_state(endpoint), str):
                at_endpoint.setdefault(phone, []).append(username)
        for endpoint in members:
            for username in at_endpoint.get(endpoint, ()):
                key = keys.dialer_agent_reservation(username)
                if await self._redis.set(key, token, nx=True, ex=int(self._settings.lease)):
                    return endpoint, (key, token)
        return None

    def _lease(self, request: Request) -> str:
        return json.dumps({"place": request.place, "worker": self._worker,
                           "lease_until": self._clock() + self._settings.lease})

    async def _dial(self, held: _Held, call: CallbackCall) -> str:
        request, queue = held.request, held.queue
        self.stats.dialled += 1
        log.info("callback dialling queue=%s number=%s agent=%s attempt=%d asked_in=%s "
                 "call=%s", queue, request.data.get("number"), call.endpoint,
                 request.attempts + 1, call.requested_in_call, call.channel_id)
        renew = asyncio.create_task(self._keep_lease(held))
        try:
            try:
                outcome = await self._placer.place(call)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure to place is a failed attempt
                log.warning("callback could not be placed queue=%s: %s: %s", queue,
                            type(exc).__name__, exc)
                outcome = "failed"
        finally:
            renew.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renew
            if held.reservation is not None:
                with contextlib.suppress(RedisError, OSError):
                    await self._unreserve(keys=[held.reservation[0]], args=[held.reservation[1]])
        await self._finish(request, queue, outcome)
        return outcome

    async def _keep_lease(self, held: _Held) -> None:
        key = self._keys.callbacks_processing(held.queue)
        while True:
            await asyncio.sleep(self._settings.lease / 3)
            with contextlib.suppress(RedisError, OSError):
                await self._renew(keys=[key], args=[held.request.member, self._worker,
                                                    self._lease(held.request)])
                if held.reservation is not None:
                    await self._redis.expire(held.reservation[0], int(self._settings.lease))

    async def _finish(self, request: Request, queue: str, outcome: str) -> None:
        now = self._clock()
        again, finished = after_attempt(request, outcome, now=now,
                                        attempts=self._settings.attempts,
                                        retry_delay=self._settings.retry_delay)
        keys = [self._keys.callbacks_processing(queue), self._keys.callback_requests(queue)]
        released = await self._release(keys=keys, args=[request.member, self._worker,
                                                        again or "", request.place])
        if not released:
            log.warning("callback queue=%s: the lease was lost while dialling; the request was "
                        "put back by recovery", queue)
            return
        if again is not None:
            await self._changed(queue)
            self.stats.retried += 1
            log.info("callback queue=%s number=%s: %s, trying again in %.0f s", queue,
                     request.data.get("number"), outcome, self._settings.retry_delay)
            return
        assert finished is not None
        if finished["outcome"] == CONNECTED:
            self.stats.connected += 1
        else:
            self.stats.failed += 1
            log.warning("callback queue=%s number=%s failed after %d attempts (%s)", queue,
                        request.data.get("number"), finished["attempts"], outcome)
        done = self._keys.callbacks_finished(queue)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(done, {json.dumps(finished, separators=(",", ":")): now})
            pipe.zremrangebyrank(done, 0, -FINISHED_KEPT - 1)
            pipe.publish(self._keys.callbacks_channel, queue)
            await pipe.execute()

    async def _changed(self, queue: str) -> None:
        """Tell the supervisor pages (screenpop's call bus) that the queue's callbacks changed."""
        await self._redis.publish(self._keys.callbacks_channel, queue)


def agent_state(raw):
    """A field of an agent_state hash: each is JSON text (screenpop.agents.AgentState)."""
    try:
        return json.loads(raw) if raw is not None else None
    except ValueError:
        return None


def _text(value) -> str | None:
    return value.decode() if isinstance(value, bytes) else value
