"""Fixtures shared by every suite: a real Redis server and an isolated key prefix per test."""
from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from playwright.async_api import async_playwright

from common.keys import Keys
from screenpop.sandbox.server import WispHubSandbox


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis the test command started or found (scripts/test.sh sets REDIS_URL)."""
    return os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def keys() -> Keys:
    """A prefix no other test uses, so tests share one Redis without seeing each other."""
    return Keys(prefix=f"test-{uuid.uuid4().hex[:12]}")


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
