"""Accounts: who may sign in, with which role, and which phone endpoints ring for them.

Stored in Redis (`keys.user`, `keys.users`, `keys.endpoint_agents`); passwords only as argon2
hashes. Every change is announced on `keys.accounts_channel` so web nodes refresh their caches.
Replacing an account (new password, role or endpoints) or removing it ends its sessions and
closes its sockets on every node; a removed agent also leaves the supervisors' list.
"""
from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from common.keys import Keys
from screenpop.web.sessions import end_sessions_of

ROLES = ("agent", "supervisor", "qa", "admin")
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_ENDPOINT = re.compile(r"^[A-Za-z][A-Za-z0-9]*/[^\s,]{1,80}$")
MIN_PASSWORD_LENGTH = 6


class AccountError(ValueError):
    """An account request that cannot be honoured; the message is for the operator (Spanish)."""


@dataclass(frozen=True)
class User:
    username: str
    role: str
    endpoints: tuple[str, ...]
    display_name: str

    def public(self) -> dict:
        return {"username": self.username, "role": self.role, "display_name": self.display_name,
                "endpoints": list(self.endpoints)}


def validate(username: str, password: str, role: str, endpoints: Sequence[str]) -> None:
    if not _USERNAME.match(username):
        raise AccountError(f"usuario inválido {username!r}: use minúsculas, dígitos, . _ -")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"la contraseña debe tener al menos {MIN_PASSWORD_LENGTH} caracteres")
    if role not in ROLES:
        raise AccountError(f"rol inválido {role!r}: use uno de {', '.join(ROLES)}")
    for endpoint in endpoints:
        if not _ENDPOINT.match(endpoint):
            raise AccountError(f"extensión inválida {endpoint!r}: use p. ej. PJSIP/6001")


class UserStore:
    def __init__(self, redis, keys: Keys, hasher: PasswordHasher | None = None) -> None:
        self._redis = redis
        self._keys = keys
        self._hasher = hasher or PasswordHasher()
        self._dummy_hash: str | None = None  # verified against for unknown usernames

    async def add(self, username: str, password: str, role: str, endpoints: Sequence[str],
                  display_name: str = "") -> User:
        """Create the account, or replace it (password, role, endpoints) when it exists."""
        endpoints = tuple(dict.fromkeys(endpoints))
        validate(username, password, role, endpoints)
        password_hash = await asyncio.to_thread(self._hasher.hash, password)
        old = await self.get(username)
        keys = self._keys
        async with self._redis.pipeline(transaction=True) as pipe:
            for endpoint in old.endpoints if old else ():
                pipe.srem(keys.endpoint_agents(endpoint), username)
            pipe.delete(keys.user(username))
            pipe.hset(keys.user(username), mapping={
                "password_hash": password_hash, "role": role,
                "endpoints": json.dumps(list(endpoints)), "display_name": display_name or username})
            pipe.sadd(keys.users, username)
            for endpoint in endpoints:
                pipe.sadd(keys.endpoint_agents(endpoint), username)
            pipe.publish(keys.accounts_channel, username)
            await pipe.execute()
        if old is not None:
            await end_sessions_of(self._redis, keys, username)
        return User(username, role, endpoints, display_name or username)

    async def remove(self, username: str) -> bool:
        user = await self.get(username)
        if user is None:
            return False
        keys = self._keys
        async with self._redis.pipeline(transaction=True) as pipe:
            for endpoint in user.endpoints:
                pipe.srem(keys.endpoint_agents(endpoint), username)
            pipe.delete(keys.user(username))
            pipe.srem(keys.users, username)
            # The agent's live state (screenpop.agents) goes too; supervisors drop the row.
            pipe.delete(keys.agent_state(username))
            pipe.srem(keys.agent_states, username)
            pipe.zrem(keys.wrapup_deadlines, username)
            pipe.publish(keys.agent_states_channel,
                         json.dumps({"username": username, "removed": True}))
            pipe.publish(keys.accounts_channel, username)
            await pipe.execute()
        await end_sessions_of(self._redis, keys, username)
        return True

    async def get(self, username: str) -> User | None:
        data = await self._redis.hgetall(self._keys.user(username))
        return _user(username, data) if data else None

    async def list(self) -> list[User]:
        names = sorted(_text(n) for n in await self._redis.smembers(self._keys.users))
        users = [await self.get(name) for name in names]
        return [user for user in users if user is not None]

    async def verify(self, username: str, password: str) -> User | None:
        """The account when the password is right, else None (same cost either way)."""
        stored = await self._redis.hget(self._keys.user(username), "password_hash")
        if stored is None and self._dummy_hash is None:
            self._dummy_hash = await asyncio.to_thread(self._hasher.hash, "not anyone's password")
        password_hash = _text(stored) if stored else self._dummy_hash
        try:
            await asyncio.to_thread(self._hasher.verify, password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        return await self.get(username) if stored else None

    async def agents_of(self, endpoint: str) -> frozenset[str]:
        return frozenset(_text(n) for n in await self._redis.smembers(
            self._keys.endpoint_agents(endpoint)))


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _user(username: str, data: dict) -> User:
    fields = {_text(k): _text(v) for k, v in data.items()}
    return User(username=username, role=fields.get("role", "agent"),
                endpoints=tuple(json.loads(fields.get("endpoints") or "[]")),
                display_name=fields.get("display_name") or username)
