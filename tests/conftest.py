"""Fixtures shared by every suite: a real Redis server and an isolated key prefix per test.

Everything a run writes lives under its own namespace (RUN_NAMESPACE, below which every test gets
a prefix of its own), and REDIS_PREFIX is set to it, so a process a test starts without naming a
prefix stays inside it too. PostgreSQL likewise: every database a test uses is created for it
(named after the run) and dropped after. Canaries planted outside — a Redis key in the default
namespace a real deployment uses, a table with a row in the server's own database — must survive
the run: otherwise the run fails.
"""
from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis
from playwright.async_api import async_playwright
from redis import Redis, RedisError

from common.db.migrations import load_migrations, migrate
from common.keys import Keys
from screenpop.sandbox.server import WispHubSandbox

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://127.0.0.1:5432/test")
RUN_NAMESPACE = f"test-{uuid.uuid4().hex[:8]}"
os.environ["REDIS_PREFIX"] = RUN_NAMESPACE
CANARY_KEYS = (f"sp:user:zz-canary-{RUN_NAMESPACE}", f"canary:{RUN_NAMESPACE}")
CANARY_TABLE = f"zz_canary_{RUN_NAMESPACE.replace('-', '_')}"
_planted: dict[str, bool] = {}


def pytest_sessionstart(session: pytest.Session) -> None:
    try:
        with Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2) as client:
            for key in CANARY_KEYS:
                client.set(key, "planted outside the test run", ex=24 * 3600)
        _planted["redis"] = True
    except RedisError:
        pass  # no Redis: the tests that need one fail on their own, saying so
    try:
        asyncio.run(_sql(f"CREATE TABLE {CANARY_TABLE} (planted text); "
                         f"INSERT INTO {CANARY_TABLE} VALUES ('outside the test run')"))
        _planted["postgres"] = True
    except (OSError, asyncpg.PostgresError):
        pass


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    lost = []
    if _planted.get("redis"):
        with Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2) as client:
            lost += [key for key in CANARY_KEYS if not client.exists(key)]
            client.delete(*CANARY_KEYS)
            leftovers = list(client.scan_iter(match=f"{RUN_NAMESPACE}*", count=1000))
            for start in range(0, len(leftovers), 500):
                client.delete(*leftovers[start:start + 500])
    if _planted.get("postgres"):
        rows = asyncio.run(_sql(f"SELECT count(*) FROM {CANARY_TABLE}", fetch=True)) \
            if asyncio.run(_sql(f"SELECT to_regclass('{CANARY_TABLE}')", fetch=True)) else 0
        if rows != 1:
            lost.append(f"table {CANARY_TABLE}")
        asyncio.run(_sql(f"DROP TABLE IF EXISTS {CANARY_TABLE}"))
    if lost:
        print(f"\nFAILED: the test run deleted data it did not create: {', '.join(lost)}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


async def _sql(statement: str, *, fetch: bool = False, url: str = DATABASE_URL):
    conn = await asyncpg.connect(url, timeout=5)
    try:
        return await conn.fetchval(statement) if fetch else await conn.execute(statement)
    finally:
        await conn.close()


def _database_url(name: str) -> str:
    """DATABASE_URL with its database part replaced."""
    base, _, _ = DATABASE_URL.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture
async def empty_database() -> str:
    """A database of its own for this test (created on DATABASE_URL's server, dropped after)."""
    name = f"{RUN_NAMESPACE.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
    try:
        await _sql(f'CREATE DATABASE "{name}"')
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL at DATABASE_URL does not answer or cannot create databases "
                    f"({exc}); run the tests through scripts/test.sh, which starts one")
    yield _database_url(name)
    await _sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def database(empty_database: str) -> str:
    """A database of its own with the current schema."""
    conn = await asyncpg.connect(empty_database, timeout=5)
    try:
        await migrate(conn, load_migrations())
    finally:
        await conn.close()
    return empty_database


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis the test command started or found (scripts/test.sh sets REDIS_URL)."""
    return REDIS_URL


@pytest.fixture
def keys() -> Keys:
    """A prefix no other test uses, inside the run's namespace, so tests share one Redis without
    seeing each other or anything else on that server."""
    return Keys(prefix=f"{RUN_NAMESPACE}-{uuid.uuid4().hex[:12]}")


@pytest.fixture
async def sandbox():
    """The WispHub sandbox over HTTP on a free port, with its default seed."""
    sb = WispHubSandbox()
    await sb.start(port=0)
    yield sb
    await sb.stop()


@pytest.fixture
async def redis(redis_url: str, keys: Keys):
    client = aioredis.from_url(redis_url, decode_responses=True)
    try:
        await client.ping()
    except Exception as exc:  # pragma: no cover - environment problem, not a test result
        pytest.fail(f"Redis at {redis_url} does not answer ({exc}); run the tests through "
                    "scripts/test.sh, which starts one")
    yield client
    async for key in client.scan_iter(match=f"{keys.prefix}:*", count=1000):
        await client.delete(key)
    await client.aclose()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture
async def browser():
    """Debian's headless Chromium driven by Playwright (scripts/test.sh installs it)."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium is not installed at {CHROMIUM}; run the tests through "
                    "scripts/test.sh, which installs it")
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                            args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture
def shots() -> Path:
    """Where browser tests leave their screenshots (SCREENSHOT_DIR, else a temporary folder)."""
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tempfile.mkdtemp(prefix="screenpop-shots-"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
