"""Fixtures shared by every suite: a real Redis server and an isolated key prefix per test.

Everything a run writes lives under its own namespace (RUN_NAMESPACE, below which every test gets
a prefix of its own), and REDIS_PREFIX is set to it, so a process a test starts without naming a
prefix stays inside it too. A canary planted outside the namespace, in the default one a real
deployment uses, must survive the run: otherwise the run fails.
"""
from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from playwright.async_api import async_playwright
from redis import Redis, RedisError

from common.keys import Keys
from screenpop.sandbox.server import WispHubSandbox

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
RUN_NAMESPACE = f"test-{uuid.uuid4().hex[:8]}"
os.environ["REDIS_PREFIX"] = RUN_NAMESPACE
CANARIES = (f"sp:user:zz-canary-{RUN_NAMESPACE}", f"canary:{RUN_NAMESPACE}")
_canaries_planted = False


def pytest_sessionstart(session: pytest.Session) -> None:
    global _canaries_planted
    try:
        with Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2) as client:
            for key in CANARIES:
                client.set(key, "planted outside the test run", ex=24 * 3600)
        _canaries_planted = True
    except RedisError:
        pass  # no Redis: the tests that need one fail on their own, saying so


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _canaries_planted:
        return
    with Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2) as client:
        lost = [key for key in CANARIES if not client.exists(key)]
        client.delete(*CANARIES)
        leftovers = list(client.scan_iter(match=f"{RUN_NAMESPACE}*", count=1000))
        for start in range(0, len(leftovers), 500):
            client.delete(*leftovers[start:start + 500])
    if lost:
        print(f"\nFAILED: the test run deleted keys it did not create: {', '.join(lost)}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


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
