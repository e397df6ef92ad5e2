"""Versioned SQL migrations: `migrations/NNNN_name.sql`, applied in order, each in its own
transaction, one node at a time (a session advisory lock), each recorded with its checksum so a
migration edited after it ran is refused instead of silently diverging.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# pg_advisory_lock key: any constant the other users of the database do not take.
LOCK_KEY = 0x5C0EE9_0001
FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


class MigrationError(Exception):
    """A migration set or database that cannot be used; the message is for the operator."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"


def load_migrations(folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(folder.glob("*.sql")):
        found = FILE_NAME.match(path.name)
        if not found:
            raise MigrationError(f"nombre de migración inválido: {path.name} (se espera "
                                 "NNNN_nombre.sql)")
        migrations.append(Migration(int(found[1]), found[2], path.read_text(encoding="utf-8")))
    for expected, migration in enumerate(migrations, start=1):
        if migration.version != expected:
            raise MigrationError(f"falta la migración {expected:04d}: las versiones deben ser "
                                 f"consecutivas (se encontró {migration.label})")
    return migrations


@dataclass(frozen=True)
class SchemaStatus:
    applied: list[int]
    pending: list[Migration]


async def schema_status(conn: asyncpg.Connection, migrations: list[Migration]) -> SchemaStatus:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    rows = await conn.fetch("SELECT version, name, checksum FROM schema_migrations ORDER BY version"
                            ) if exists else []
    known = {m.version: m for m in migrations}
    for row in rows:
        migration = known.get(row["version"])
        if migration is None:
            raise MigrationError(f"la base de datos tiene la migración {row['version']:04d}_"
                                 f"{row['name']}, que este código no conoce: actualice el código")
        if migration.checksum != row["checksum"]:
            raise MigrationError(f"la migración {migration.label} cambió después de aplicarse: "
                                 "restaure el archivo y agregue los cambios en una migración nueva")
    applied = [row["version"] for row in rows]
    return SchemaStatus(applied, [m for m in migrations if m.version not in set(applied)])


async def migrate(conn: asyncpg.Connection, migrations: list[Migration]) -> list[Migration]:
    """Applies what is pending; returns what this call applied (another node may have done the
    rest while this one waited for the lock)."""
    await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
    try:
        await conn.execute(BOOKKEEPING)
        pending = (await schema_status(conn, migrations)).pending
        for migration in pending:
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute("INSERT INTO schema_migrations (version, name, checksum) "
                                   "VALUES ($1, $2, $3)", migration.version, migration.name,
                                   migration.checksum)
        return pending
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
