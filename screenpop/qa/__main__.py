"""`python -m screenpop.qa retention` archives and removes what RETENTION_DAYS no longer keeps
(run it from cron or a systemd timer); `python -m screenpop.qa sample [--day AAAA-MM-DD]` builds
a day's sampling queue ahead of the reviewers."""
from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import asyncpg

from common.db.pool import create_pool
from common.settings import ConfigError, environ
from screenpop.qa.retention import archive_expired
from screenpop.qa.sampling import build_daily_sample
from screenpop.qa.settings import QaSettings


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m screenpop.qa", description="QA desk tasks")
    commands = top.add_subparsers(dest="command", required=True)
    retention = commands.add_parser("retention", help="archive and remove old call records")
    retention.add_argument("--days", type=int, help="override RETENTION_DAYS")
    sample = commands.add_parser("sample", help="build a day's sampling queue")
    sample.add_argument("--day", type=date.fromisoformat, help="local day (default: today)")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    env = environ()
    try:
        settings = QaSettings.from_env(env)
        if settings is None:
            raise ConfigError("DATABASE_URL is required")
    except ConfigError as exc:
        print(f"screenpop.qa: configuración inválida: {exc}", file=sys.stderr)
        return 2
    tz = ZoneInfo(env.get("TZ_NAME") or "America/Mexico_City")
    try:
        lines = asyncio.run(run(args, settings, tz))
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        print(f"screenpop.qa: no se pudo usar la base de datos: {exc}", file=sys.stderr)
        return 1
    print(f"screenpop.qa: {lines}")
    return 0


async def run(args, settings: QaSettings, tz: ZoneInfo) -> str:
    pool = await create_pool(settings.database_url, max_size=2)
    try:
        if args.command == "retention":
            days = args.days or settings.retention_days
            result = await archive_expired(pool, days=days, now=datetime.now(UTC),
                                           recordings_dir=settings.recordings_dir,
                                           archive_dir=settings.archive_dir)
            return (f"archivadas {result.records} llamadas y {result.recordings} grabaciones de "
                    f"más de {days} días en {settings.archive_dir}")
        day = args.day or datetime.now(tz).date()
        total = await build_daily_sample(pool, day, tz, settings.scorecard.sampling)
        return f"muestra del {day}: {total} llamadas"
    finally:
        await pool.close()


if __name__ == "__main__":
    sys.exit(main())
