"""The accounts' SQL (tables `accounts`, `account_endpoints`, migration 0004)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class AccountRow:
    username: str
    display_name: str
    role: str
    endpoints: tuple[str, ...]
    active: bool


_SELECT = """
    SELECT a.username, a.display_name, a.role, a.active,
           coalesce(array_agg(e.endpoint ORDER BY e.position)
                    FILTER (WHERE e.endpoint IS NOT NULL), '{}') AS endpoints
    FROM accounts a LEFT JOIN account_endpoints e USING (username)"""


def _row(record: asyncpg.Record) -> AccountRow:
    return AccountRow(record["username"], record["display_name"], record["role"],
                      tuple(record["endpoints"]), record["active"])


async def all_accounts(conn: asyncpg.Connection) -> list[AccountRow]:
    return [_row(r) for r in await conn.fetch(f"{_SELECT} GROUP BY a.username ORDER BY a.username")]


async def one_account(conn: asyncpg.Connection, username: str) -> AccountRow | None:
    record = await conn.fetchrow(f"{_SELECT} WHERE a.username = $1 GROUP BY a.username", username)
    return _row(record) if record else None


async def password_hash(conn: asyncpg.Connection, username: str) -> str | None:
    """The hash of an active account (None for unknown or inactive ones)."""
    return await conn.fetchval(
        "SELECT password_hash FROM accounts WHERE username = $1 AND active", username)


async def save(conn: asyncpg.Connection, username: str, display_name: str, password_hash: str,
               role: str, endpoints: Sequence[str], *, replace: bool = True) -> bool:
    """Create the account (active), or when `replace` overwrite it and make it active again.
    Returns whether it was written (False: it existed and `replace` is off)."""
    async with conn.transaction():
        conflict = ("DO UPDATE SET display_name = excluded.display_name, password_hash = "
                    "excluded.password_hash, role = excluded.role, active = true, "
                    "updated_at = now()") if replace else "DO NOTHING"
        written = await conn.fetchval(
            "INSERT INTO accounts (username, display_name, password_hash, role) "
            f"VALUES ($1, $2, $3, $4) ON CONFLICT (username) {conflict} RETURNING true",
            username, display_name, password_hash, role)
        if not written:
            return False
        await conn.execute("DELETE FROM account_endpoints WHERE username = $1", username)
        await conn.executemany(
            "INSERT INTO account_endpoints (username, endpoint, position) VALUES ($1, $2, $3)",
            [(username, endpoint, position) for position, endpoint in enumerate(endpoints)])
        return True


async def delete(conn: asyncpg.Connection, username: str) -> bool:
    return await conn.fetchval("DELETE FROM accounts WHERE username = $1 RETURNING true",
                               username) is not None


async def set_active(conn: asyncpg.Connection, username: str, active: bool) -> bool:
    return await conn.fetchval(
        "UPDATE accounts SET active = $2, updated_at = now() WHERE username = $1 RETURNING true",
        username, active) is not None
