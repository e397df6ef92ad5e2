"""Who may do what with a call — the one answer every HTTP route and WebSocket message uses.

The rule, from the call's latest envelope (`keys.call`, written by telephony) and, once that has
expired (two minutes after the end), from the holders screenpop recorded (`keys.call_holders`,
`keys.call_agents`, 30 days):

- **act** (WispHub writes: activate, documents, data, services, retry): the *holder* only — an
  agent whose endpoint answered the call and holds it now (after a blind or attended transfer,
  the new holder). When the call has ended, whoever held it at the end keeps this right: they
  finish the wrap-up of their own call (a document that arrives late, a retried activation).
- **prepare** (link the call to a record, move through the guided script and save answers): the
  holder, and also an agent whose phone is *ringing* with the call now — the pop offers the
  script and the record choice while it rings.
- **read** (the script, the list of operations): the above, an agent who held the call before
  handing it on (read-only: they see what they did), supervisors and admins.
- **nothing**: an agent whose phone only rang (another agent answered it, or it stopped ringing
  unanswered), whatever the call's state, and every agent for a call they never had.

A call id of the wrong shape is refused (400) and one no one ever saw is unknown (404), for
every role; otherwise a refusal is 403.
"""
from __future__ import annotations

import enum
import json
import logging
from dataclasses import dataclass

from common.callstate import read_call_state
from common.envelope import CallUpdate
from common.keys import Keys
from screenpop.push.protocol import is_call_id
from screenpop.users import User

log = logging.getLogger(__name__)

HOLDERS_TTL_SECONDS = 30 * 24 * 3600  # as long as the call's progress and operations
STAFF_ROLES = frozenset({"supervisor", "admin"})


class Need(enum.IntEnum):
    """What a request wants to do with a call; each level includes the ones below."""
    NONE = 0
    READ = 1
    PREPARE = 2
    ACT = 3


class AccessDenied(Exception):
    """`message` is Spanish, for the agent."""

    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(code)
        self.code, self.status, self.message = code, status, message


REFUSALS: dict[str, tuple[int, str]] = {
    "bad_call_id": (400, "El identificador de llamada no es válido."),
    "unknown_call": (404, "No existe esa llamada."),
    "not_your_call": (403, "Esta llamada no es suya."),
    "read_only": (403, "Puede consultar esta llamada, pero solo el asesor que la atiende puede "
                       "modificarla."),
}


def refusal(code: str) -> AccessDenied:
    return AccessDenied(code, *REFUSALS[code])


@dataclass(frozen=True)
class CallFacts:
    """What Redis knows about a call, for one user."""
    update: CallUpdate | None  # the latest envelope while telephony's state lives
    holders: frozenset[str]  # endpoints that held it last (recorded by screenpop)
    answered_by_user: bool  # the user answered it at some point (keys.call_agents)
    known: bool  # anything at all is known about the call


def allowed(user: User, facts: CallFacts) -> Need:
    """The most the user may do with the call (pure; the rule of the module docstring)."""
    update = facts.update
    mine = set(user.endpoints)
    if update is not None:
        legs = {leg for endpoint, leg in update.agents.items() if endpoint in mine}
        live = update.state != "ended"
        if ("answered" in legs and live) or "ended" in legs:
            return Need.ACT
        if "ringing" in legs and live:
            return Need.PREPARE
        if "transferred" in legs:
            return Need.READ
    elif facts.holders & mine:
        return Need.ACT
    if facts.answered_by_user or (user.role in STAFF_ROLES and facts.known):
        return Need.READ
    return Need.NONE


@dataclass(frozen=True)
class CallGrant:
    call_id: str
    update: CallUpdate | None  # the call's latest envelope, when Redis still has it
    level: Need


class CallAccess:
    def __init__(self, redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def check(self, user: User, call_id: str, need: Need) -> CallGrant:
        """The grant for `need`, or AccessDenied saying why not."""
        if not is_call_id(call_id):
            raise refusal("bad_call_id")
        facts = await self.facts(user, call_id)
        if not facts.known:
            raise refusal("unknown_call")
        level = allowed(user, facts)
        if level < need:
            if level >= Need.READ:
                raise refusal("read_only")
            log.warning("call access refused agent=%s call=%s need=%s", user.username, call_id,
                        need.name.lower())
            raise refusal("not_your_call")
        return CallGrant(call_id, facts.update, level)

    async def in_call(self, user: User, call_id: str) -> bool:
        """The call's state lists one of the user's endpoints (live, or ended a moment ago): what
        a browser may acknowledge a pop of."""
        if not is_call_id(call_id):
            return False
        update = read_call_state(await self._redis.get(self._keys.call(call_id)))
        return update is not None and any(ep in update.agents for ep in user.endpoints)

    async def facts(self, user: User, call_id: str) -> CallFacts:
        keys = self._keys
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(keys.call(call_id))
            pipe.get(keys.call_holders(call_id))
            pipe.hexists(keys.call_agents(call_id), user.username)
            pipe.exists(keys.call_agents(call_id))
            raw, holders, answered, any_answered = await pipe.execute()
        update = read_call_state(raw)
        known = update is not None or holders is not None or bool(any_answered)
        return CallFacts(update, _endpoints(holders), bool(answered), known)

    async def record_answer(self, update: CallUpdate, username: str, now: float) -> None:
        """`username`'s endpoint is answered in `update`: remember that they held the call and
        who holds it now, for when the call's envelope has expired."""
        holders = sorted(endpoint for endpoint, leg in update.agents.items() if leg == "answered")
        answered = self._keys.call_agents(update.call_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(answered, username, now)
            pipe.expire(answered, HOLDERS_TTL_SECONDS)
            pipe.set(self._keys.call_holders(update.call_id), json.dumps(holders),
                     ex=HOLDERS_TTL_SECONDS)
            await pipe.execute()



def _endpoints(raw: str | bytes | None) -> frozenset[str]:
    if raw is None:
        return frozenset()
    try:
        value = json.loads(raw)
    except ValueError:
        return frozenset()
    return frozenset(v for v in value if isinstance(v, str)) if isinstance(value, list) else frozenset()

