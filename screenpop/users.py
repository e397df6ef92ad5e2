"""Accounts: who may sign in, with which role, and which phone endpoints ring for them.

Stored in PostgreSQL (tables `accounts`, `account_endpoints`; screenpop.accounts_db); passwords
only as argon2 hashes. Every change is announced on `keys.accounts_channel`, so each web node
drops its copy of the directory (who is active, their roles and endpoints) and reads it again.
The pop path and every signed-in request read that copy, never the database: while PostgreSQL
is away a node keeps serving the last directory it read (only sign-in, which needs the password
hash, waits for the database). Replacing an account (new password, role or endpoints), removing
or disabling it ends its sessions and closes its sockets on every node; a removed or disabled
agent also leaves the supervisors' list.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from common.db.migrations import MigrationError
from common.db.pool import CONNECT_TIMEOUT, LazyPool
from common.keys import Keys
from screenpop import accounts_db
from screenpop.web.sessions import end_sessions_of

log = logging.getLogger(__name__)

ROLES = ("agent", "supervisor", "qa", "admin")
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
ENDPOINT_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9]*/[^\s,]{1,80}$")
MIN_PASSWORD_LENGTH = 6
DIRECTORY_SECONDS = 30.0  # a node reads the directory again at least this often (a lost message)
RETRY_SECONDS = 2.0  # while the database is away, how often a node tries again


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
    if not USERNAME_PATTERN.match(username):
        raise AccountError(f"usuario inválido {username!r}: use minúsculas, dígitos, . _ -")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"la contraseña debe tener al menos {MIN_PASSWORD_LENGTH} caracteres")
    if role not in ROLES:
        raise AccountError(f"rol inválido {role!r}: use uno de {', '.join(ROLES)}")
    for endpoint in endpoints:
        if not ENDPOINT_PATTERN.match(endpoint):
            raise AccountError(f"extensión inválida {endpoint!r}: use p. ej. PJSIP/6001")


class AccountsUnavailable(ConnectionError):
    """The accounts database did not answer and this node has no directory to fall back on."""


@dataclass(frozen=True)
class Directory:
    """A node's copy of the active accounts (no password hashes)."""
    users: dict[str, User]
    by_endpoint: dict[str, frozenset[str]]

    @classmethod
    def of(cls, rows: Sequence[accounts_db.AccountRow]) -> Directory:
        users = {r.username: User(r.username, r.role, r.endpoints, r.display_name)
                 for r in rows if r.active}
        by_endpoint: dict[str, set[str]] = {}
        for user in users.values():
            for endpoint in user.endpoints:
                by_endpoint.setdefault(endpoint, set()).add(user.username)
        return cls(users, {e: frozenset(names) for e, names in by_endpoint.items()})


class UserStore:
    def __init__(self, database: LazyPool, redis, keys: Keys, hasher: PasswordHasher | None = None,
                 *, clock: Callable[[], float] = time.monotonic) -> None:
        self._database = database
        self._redis = redis
        self._keys = keys
        self._hasher = hasher or PasswordHasher()
        self._clock = clock
        self._dummy_hash: str | None = None  # verified against for unknown usernames
        self._directory: Directory | None = None
        self._next_read = 0.0  # clock time to read the directory again
        self._stale = True
        self._reading = asyncio.Lock()

    # --- changes ---------------------------------------------------------------------------
    async def add(self, username: str, password: str, role: str, endpoints: Sequence[str],
                  display_name: str = "") -> User:
        """Create the account, or replace it (password, role, endpoints) when it exists; a
        disabled account comes back active."""
        endpoints = tuple(dict.fromkeys(endpoints))
        validate(username, password, role, endpoints)
        password_hash = await asyncio.to_thread(self._hasher.hash, password)
        async with self.connection() as conn:
            existed = await accounts_db.one_account(conn, username) is not None
            await accounts_db.save(conn, username, display_name or username, password_hash, role,
                                   endpoints)
        await self.announce(username)
        if existed:
            await end_sessions_of(self._redis, self._keys, username)
        return User(username, role, endpoints, display_name or username)

    async def remove(self, username: str) -> bool:
        async with self.connection() as conn:
            removed = await accounts_db.delete(conn, username)
        if removed:
            await self._signed_off(username)
        return removed

    async def set_active(self, username: str, active: bool) -> bool:
        """Disable an account (it keeps its name for the calls it took, cannot sign in, no
        endpoint rings for it) or enable it again. False when it does not exist."""
        async with self.connection() as conn:
            found = await accounts_db.set_active(conn, username, active)
        if found and not active:
            await self._signed_off(username)
        elif found:
            await self.announce(username)
        return found

    async def _signed_off(self, username: str) -> None:
        keys = self._keys
        async with self._redis.pipeline(transaction=True) as pipe:
            # The agent's live state (screenpop.agents) goes too; supervisors drop the row.
            pipe.delete(keys.agent_state(username))
            pipe.srem(keys.agent_states, username)
            pipe.zrem(keys.wrapup_deadlines, username)
            pipe.publish(keys.agent_states_channel,
                         json.dumps({"username": username, "removed": True}))
            pipe.publish(keys.accounts_channel, username)
            await pipe.execute()
        self.forget()
        await end_sessions_of(self._redis, keys, username)

    async def announce(self, username: str) -> None:
        """Tell every node (this one too) to read the directory again."""
        self.forget()
        await self._redis.publish(self._keys.accounts_channel, username)

    # --- reads -----------------------------------------------------------------------------
    async def get(self, username: str) -> User | None:
        """The active account (from this node's directory; a name it lacks is read once more,
        so an account added a moment ago is known at its first sign-in)."""
        user = (await self._current()).users.get(username)
        if user is None and not self._stale:
            self.forget()
            user = (await self._current()).users.get(username)
        return user

    async def list(self) -> list[User]:
        """The active accounts, by username (from this node's directory)."""
        users = (await self._current()).users
        return [users[name] for name in sorted(users)]

    async def agents_of(self, endpoint: str) -> frozenset[str]:
        return (await self._current()).by_endpoint.get(endpoint, frozenset())

    async def accounts(self) -> list[accounts_db.AccountRow]:
        """Every account, disabled ones too, read from the database (for the operator)."""
        async with self.connection() as conn:
            return await accounts_db.all_accounts(conn)

    async def verify(self, username: str, password: str) -> User | None:
        """The active account when the password is right, else None (same cost either way)."""
        async with self.connection() as conn:
            stored = await accounts_db.password_hash(conn, username)
            row = await accounts_db.one_account(conn, username) if stored else None
        if stored is None and self._dummy_hash is None:
            self._dummy_hash = await asyncio.to_thread(self._hasher.hash, "not anyone's password")
        try:
            await asyncio.to_thread(self._hasher.verify, stored or self._dummy_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        user = User(row.username, row.role, row.endpoints, row.display_name)
        if self._directory is not None and self._directory.users.get(username) != user:
            self.forget()  # changed elsewhere and the announcement is still on its way
        return user

    def forget(self) -> None:
        """Read the directory again on next use (an account changed)."""
        self._stale = True

    async def _current(self) -> Directory:
        if self._directory is not None and not self._due():
            return self._directory
        async with self._reading:
            if self._directory is not None and not self._due():
                return self._directory  # another task just read it
            self._stale = False
            try:
                async with self.connection() as conn:
                    rows = await accounts_db.all_accounts(conn)
            except AccountsUnavailable as exc:
                self._next_read = self._clock() + RETRY_SECONDS
                if self._directory is None:
                    raise
                log.warning("accounts not read again (%s); using this node's copy", exc)
                return self._directory
            self._directory = Directory.of(rows)
            self._next_read = self._clock() + DIRECTORY_SECONDS
            return self._directory

    def _due(self) -> bool:
        return self._stale or self._clock() >= self._next_read

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection of the accounts database; AccountsUnavailable when it does not answer."""
        try:
            pool = await self._database.get()
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError,
                MigrationError) as exc:
            raise AccountsUnavailable(f"la base de datos de cuentas no responde ({exc})") from exc
        try:
            async with pool.acquire(timeout=CONNECT_TIMEOUT) as conn:
                yield conn
        except (OSError, TimeoutError, asyncpg.InterfaceError,
                asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError) as exc:
            raise AccountsUnavailable(f"la base de datos de cuentas no responde ({exc})") from exc
