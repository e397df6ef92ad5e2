"""`python -m screenpop users migrate-from-redis`: the accounts an earlier version kept in Redis
(the set `keys.users`, one hash `keys.user(name)` each: password_hash, role, endpoints as a JSON
list, display_name) copied into PostgreSQL, hashes as they are.

Idempotent: an account already in PostgreSQL is left as it is there (it may have changed since),
one whose Redis data cannot be used is skipped with the reason. Redis is only read.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from common.keys import Keys
from screenpop import accounts_db
from screenpop.users import ENDPOINT_PATTERN, ROLES, USERNAME_PATTERN, UserStore


@dataclass
class ImportReport:
    copied: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # username, reason (Spanish)

    def lines(self) -> list[str]:
        out = [f"copiada: {name}" for name in self.copied]
        out += [f"ya estaba en PostgreSQL (no se tocó): {name}" for name in self.already]
        out += [f"omitida: {name}: {reason}" for name, reason in self.skipped]
        out.append(f"cuentas de Redis: {len(self.copied)} copiadas, {len(self.already)} ya "
                   f"estaban, {len(self.skipped)} omitidas. Redis no se modificó; desde ahora las "
                   "cuentas se leen solo de PostgreSQL.")
        return out


@dataclass(frozen=True)
class LegacyAccount:
    username: str
    password_hash: str
    role: str
    endpoints: tuple[str, ...]
    display_name: str


def parse_legacy(username: str, data: dict[str, str]) -> LegacyAccount | str:
    """The account as the Redis store wrote it, or why it cannot be copied (Spanish)."""
    if not USERNAME_PATTERN.match(username):
        return "nombre de usuario inválido"
    if not data:
        return "está en la lista de cuentas pero no tiene datos"
    password_hash = data.get("password_hash", "")
    if not password_hash.startswith("$argon2"):
        return "no tiene una contraseña cifrada con argon2"
    role = data.get("role") or "agent"
    if role not in ROLES:
        return f"rol desconocido {role!r}"
    try:
        endpoints = json.loads(data.get("endpoints") or "[]")
    except ValueError:
        return "la lista de extensiones no es JSON"
    if not isinstance(endpoints, list) or not all(
            isinstance(e, str) and ENDPOINT_PATTERN.match(e) for e in endpoints):
        return f"extensiones inválidas {data.get('endpoints')!r}"
    return LegacyAccount(username, password_hash, role, tuple(dict.fromkeys(endpoints)),
                         data.get("display_name") or username)


async def copy_redis_accounts(redis, keys: Keys, store: UserStore) -> ImportReport:
    report = ImportReport()
    names = sorted(_text(n) for n in await redis.smembers(keys.users))
    for username in names:
        data = {_text(k): _text(v) for k, v in (await redis.hgetall(keys.user(username))).items()}
        account = parse_legacy(username, data)
        if isinstance(account, str):
            report.skipped.append((username, account))
            continue
        async with store.connection() as conn:
            written = await accounts_db.save(conn, account.username, account.display_name,
                                             account.password_hash, account.role,
                                             account.endpoints, replace=False)
        (report.copied if written else report.already).append(username)
    if report.copied:
        await store.announce(report.copied[-1])
    return report


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
