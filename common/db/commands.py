"""`python -m screenpop db migrate|status`: the operator's view of the schema."""
from __future__ import annotations

import asyncpg

from common.db.migrations import MigrationError, load_migrations, migrate, schema_status
from common.db.pool import connect
from common.demo_env import DatabaseTarget


async def run(action: str, target: DatabaseTarget) -> tuple[int, list[str]]:
    """Returns the exit code and the lines to print (Spanish, for the operator)."""
    migrations = load_migrations()
    try:
        conn = await connect(target.url)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        return 1, [f"no se pudo conectar a {target.describe()}: {exc}. Inicie PostgreSQL o la "
                   "demo (scripts/demo.sh), o fije DATABASE_URL."]
    try:
        if action == "migrate":
            applied = await migrate(conn, migrations)
            lines = [f"aplicada {m.label}" for m in applied] or ["el esquema ya estaba al día"]
        else:
            status = await schema_status(conn, migrations)
            lines = [f"aplicadas: {len(status.applied)} de {len(migrations)}"]
            lines += [f"pendiente: {m.label}" for m in status.pending]
        return 0, [*lines, f"se usó {target.describe()}"]
    except MigrationError as exc:
        return 2, [str(exc)]
    finally:
        await conn.close()
