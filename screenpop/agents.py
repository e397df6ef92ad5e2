"""Agent states shared through Redis: pure transitions, and a store that applies them atomically.

States: offline (not signed in), available, paused (with a configured reason), in_call (set when a
call is answered at one of the agent's endpoints), wrap_up (once no answered call of the agent is
live any more, at most `wrapup_max` seconds, then available; the agent may finish early).
`live_calls` lists the agent's answered calls still live (a call on hold while they take another
one), so the end of one of two calls does not start the wrap-up. `unreachable` is a flag on
top of the state: a pop was not acknowledged by any tab of the agent within the ack deadline.
Keys: `Keys.agent_state`, `Keys.agent_states`, `Keys.wrapup_deadlines`, `Keys.agent_states_channel`.
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from redis.exceptions import WatchError

from common.keys import Keys
from common.settings import ConfigError, env_float, env_list

STATES = ("offline", "available", "paused", "in_call", "wrap_up")
STATE_LABELS = {"offline": "Sin sesión", "available": "Disponible", "paused": "En pausa",
                "in_call": "En llamada", "wrap_up": "En cierre"}
CHOSEN_STATES = ("available", "paused")
DEFAULT_PAUSE_REASONS = "Baño,Comida,Capacitación,Retroalimentación,Problema técnico"


@dataclass(frozen=True)
class AgentSettings:
    ack_deadline: float = 3.0
    wrapup_max: float = 120.0
    pause_reasons: tuple[str, ...] = tuple(DEFAULT_PAUSE_REASONS.split(","))

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AgentSettings:
        settings = cls(ack_deadline=env_float(env, "ACK_DEADLINE", cls.ack_deadline, minimum=0.05),
                       wrapup_max=env_float(env, "WRAPUP_MAX_SECONDS", cls.wrapup_max, minimum=0.0),
                       pause_reasons=env_list(env, "PAUSE_REASONS", DEFAULT_PAUSE_REASONS))
        if any(len(reason) > 60 for reason in settings.pause_reasons):
            raise ConfigError("PAUSE_REASONS: cada motivo debe tener como máximo 60 caracteres")
        return settings


class StateError(ValueError):
    """A state change the agent may not make; `code` goes back to the browser."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class AgentState:
    username: str
    state: str = "offline"
    since: float = 0.0
    reason: str | None = None
    call_id: str | None = None
    customer: str | None = None
    wrap_until: float | None = None
    live_calls: tuple[tuple[str, str | None], ...] = ()   # (call id, customer), oldest first
    unreachable: bool = False
    unreachable_call: str | None = None
    unreachable_at: float | None = None
    endpoint: str | None = None  # the account's phone (its first endpoint): where the dialer rings

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "label": STATE_LABELS[self.state]}

    def to_hash(self) -> dict[str, str]:
        return {name: json.dumps(value) for name, value in dataclasses.asdict(self).items()
                if name != "username"}

    @classmethod
    def from_hash(cls, username: str, data: Mapping[str, str]) -> AgentState:
        values: dict[str, Any] = {}
        for item in dataclasses.fields(cls):
            if item.name in data:
                try:
                    values[item.name] = json.loads(data[item.name])
                except ValueError:
                    continue
        if values.get("state") not in STATES:
            values.pop("state", None)
        if "live_calls" in values:
            values["live_calls"] = tuple((str(c[0]), c[1]) for c in values["live_calls"] or ()
                                         if isinstance(c, list) and len(c) == 2)
        return cls(username=username, **values)

    def moved(self, state: str, now: float, **changes: Any) -> AgentState:
        base = dict(reason=None, call_id=None, customer=None, wrap_until=None,
                    live_calls=self.live_calls if state == "in_call" else ())
        return dataclasses.replace(self, state=state, since=now, **{**base, **changes})


# ---- pure transitions -------------------------------------------------------------------------
def choose(current: AgentState, target: str, reason: str | None, now: float,
           settings: AgentSettings) -> AgentState:
    """The agent's own choice: available (also ends a wrap-up early) or paused with a reason."""
    if target not in CHOSEN_STATES:
        raise StateError("bad_state")
    if current.state == "in_call":
        raise StateError("in_call")
    if target == "paused":
        if reason not in settings.pause_reasons:
            raise StateError("bad_reason")
        if current.state == "paused" and current.reason == reason:
            return current
        return current.moved("paused", now, reason=reason)
    return current if current.state == "available" else current.moved("available", now)


def signed_in(current: AgentState, now: float, endpoint: str | None = None) -> AgentState:
    """`endpoint`: the account's phone, kept in the state for the dialer's agent-first calls."""
    if current.state == "offline":
        return current.moved("available", now, endpoint=endpoint or current.endpoint)
    if endpoint and endpoint != current.endpoint:
        return dataclasses.replace(current, endpoint=endpoint)
    return current


def signed_out(current: AgentState, now: float) -> AgentState:
    return current if current.state == "offline" else current.moved("offline", now)


def on_call(current: AgentState, call_id: str, leg: str, call_state: str, customer: str | None,
            now: float, settings: AgentSettings) -> AgentState:
    """Follow a call at the agent's endpoints: answered → in_call; the end of the last answered
    call still live → wrap_up. While another answered call is live the agent stays in_call (with
    that call)."""
    live = current.live_calls if current.state == "in_call" else ()
    if current.state == "in_call" and current.call_id and not live:
        live = ((current.call_id, current.customer),)  # a state written before live_calls existed
    others = tuple(c for c in live if c[0] != call_id)
    if leg == "answered" and call_state != "ended":
        if current.state == "in_call" and current.call_id == call_id and len(others) < len(live):
            return current
        return current.moved("in_call", now, call_id=call_id, customer=customer,
                             live_calls=(*others, (call_id, customer)))
    if len(others) == len(live):
        return current
    if others:
        if current.call_id != call_id:
            return dataclasses.replace(current, live_calls=others)
        return current.moved("in_call", now, call_id=others[-1][0], customer=others[-1][1],
                             live_calls=others)
    return current.moved("wrap_up", now, call_id=call_id, customer=current.customer,
                         wrap_until=now + settings.wrapup_max)


def expire_wrapup(current: AgentState, now: float) -> AgentState:
    if current.state == "wrap_up" and (current.wrap_until or 0) <= now:
        return current.moved("available", now)
    return current


def mark_unreachable(current: AgentState, call_id: str, now: float) -> AgentState:
    if current.unreachable and current.unreachable_call == call_id:
        return current
    return dataclasses.replace(current, unreachable=True, unreachable_call=call_id,
                               unreachable_at=now)


def mark_reachable(current: AgentState) -> AgentState:
    if not current.unreachable:
        return current
    return dataclasses.replace(current, unreachable=False, unreachable_call=None,
                               unreachable_at=None)


# ---- the store --------------------------------------------------------------------------------
class AgentStateStore:
    def __init__(self, redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def get(self, username: str) -> AgentState:
        return AgentState.from_hash(username, await self._redis.hgetall(
            self._keys.agent_state(username)))

    async def all(self) -> list[AgentState]:
        names = sorted(await self._redis.smembers(self._keys.agent_states))
        if not names:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hgetall(self._keys.agent_state(name))
            found = await pipe.execute()
        return [AgentState.from_hash(name, data) for name, data in zip(names, found) if data]

    async def update(self, username: str,
                     change: Callable[[AgentState], AgentState]) -> tuple[AgentState, bool]:
        """Apply `change` atomically (optimistic transaction); publish the result when it
        changed anything. `change` may raise StateError; nothing is written then."""
        keys = self._keys
        key = keys.agent_state(username)
        # most calls change nothing (an ack from an agent already reachable, a ringing leg):
        # decide that with one read, without a transaction
        current = AgentState.from_hash(username, await self._redis.hgetall(key))
        if change(current) == current:
            return current, False
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    current = AgentState.from_hash(username, await pipe.hgetall(key))
                    new = change(current)
                    if new == current:
                        await pipe.unwatch()
                        return current, False
                    pipe.multi()
                    pipe.delete(key)
                    pipe.hset(key, mapping=new.to_hash())
                    pipe.sadd(keys.agent_states, username)
                    if new.state == "wrap_up" and new.wrap_until is not None:
                        pipe.zadd(keys.wrapup_deadlines, {username: new.wrap_until})
                    else:
                        pipe.zrem(keys.wrapup_deadlines, username)
                    pipe.publish(keys.agent_states_channel, json.dumps(new.to_dict()))
                    await pipe.execute()
                    return new, True
                except WatchError:
                    continue

    async def due_wrapups(self, now: float) -> list[str]:
        return list(await self._redis.zrangebyscore(self._keys.wrapup_deadlines, "-inf", now))
