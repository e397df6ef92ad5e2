"""Server-side sessions: a random id in an HttpOnly cookie, the data in Redis with a TTL.

Each account's session ids are indexed (`keys.user_sessions`) so that removing the account or
setting a new password ends them all at once, and every node closes their sockets.
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass

from aiohttp import web
from redis.exceptions import WatchError

from common.keys import Keys
from screenpop.push import protocol
from screenpop.web.csrf import new_token

COOKIE = "sp_session"
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


@dataclass(frozen=True)
class Session:
    id: str
    username: str
    csrf: str


class SessionStore:
    def __init__(self, redis, keys: Keys, ttl: int) -> None:
        self._redis = redis
        self._keys = keys
        self.ttl = ttl

    async def create(self, username: str) -> Session:
        session = Session(secrets.token_urlsafe(32), username, new_token())
        key, index = self._keys.session(session.id), self._keys.user_sessions(username)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"username": username, "csrf": session.csrf,
                                    "created_at": time.time()})
            pipe.expire(key, self.ttl)
            pipe.sadd(index, session.id)
            pipe.expire(index, self.ttl)
            await pipe.execute()
        return session

    async def get(self, session_id: str | None) -> Session | None:
        """The live session, its expiry pushed back (sliding), or None."""
        if not session_id or not _SESSION_ID.match(session_id):
            return None
        key = self._keys.session(session_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hmget(key, "username", "csrf")
            pipe.expire(key, self.ttl)
            (username, csrf), _ = await pipe.execute()
        if not username or not csrf:
            return None
        await self._redis.expire(self._keys.user_sessions(_text(username)), self.ttl, gt=True)
        return Session(session_id, _text(username), _text(csrf))

    async def delete(self, session: Session) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._keys.session(session.id))
            pipe.srem(self._keys.user_sessions(session.username), session.id)
            pipe.publish(self._keys.agent_channel(session.username),
                         session_ended_message(session.id))
            await pipe.execute()


async def end_sessions_of(redis, keys: Keys, username: str) -> int:
    """Delete every session of the account and tell the nodes holding its sockets to close
    them (the `session_ended` message on the agent channel). Returns how many ended."""
    index = keys.user_sessions(username)
    async with redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                await pipe.watch(index)
                ids = [_text(i) for i in await pipe.smembers(index)]
                pipe.multi()
                for session_id in ids:
                    pipe.delete(keys.session(session_id))
                    pipe.publish(keys.agent_channel(username), session_ended_message(session_id))
                pipe.delete(index)
                await pipe.execute()
                return len(ids)
            except WatchError:
                continue


def session_ended_message(session_id: str) -> str:
    """What the agent channel carries to close the sockets of one session (see bus.py)."""
    return json.dumps(protocol.session_ended(fingerprint(session_id)))


def set_cookie(response: web.StreamResponse, session: Session, *, ttl: int, secure: bool) -> None:
    response.set_cookie(COOKIE, session.id, max_age=ttl, path="/", httponly=True,
                        samesite="Lax", secure=secure)


def clear_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path="/")


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def fingerprint(session_id: str) -> str:
    """Names a session on the bus without revealing its id."""
    return hashlib.sha256(session_id.encode()).hexdigest()[:24]
