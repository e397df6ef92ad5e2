"""Fixtures shared by every suite: a real Redis server and an isolated key prefix per test."""
from __future__ import annotations

import os
import uuid

import pytest
import redis.asyncio as aioredis

from common.keys import Keys


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis the test command started or found (scripts/test.sh sets REDIS_URL)."""
    return os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def keys() -> Keys:
    """A prefix no other test uses, so tests share one Redis without seeing each other."""
    return Keys(prefix=f"test-{uuid.uuid4().hex[:12]}")


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
