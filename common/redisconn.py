"""The one way both services open Redis.

A burst of requests (forty agents reconnecting at once, a dialer tick) must wait briefly for a
free connection instead of failing: redis-py's default pool raises "Too many connections" past
its limit, so a blocking pool with a bounded wait is used.
"""
from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

MAX_CONNECTIONS = 512
POOL_WAIT_SECONDS = 5.0
CONNECT_TIMEOUT_SECONDS = 5.0


def connect(url: str, *, socket_timeout: float | None = None,
            health_check_interval: float = 30.0) -> aioredis.Redis:
    """A client that owns its pool (closed by `aclose()`). Leave `socket_timeout` unset for
    clients that also hold pub/sub subscriptions, which wait on the socket by design."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=MAX_CONNECTIONS, timeout=POOL_WAIT_SECONDS, decode_responses=True,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS, socket_timeout=socket_timeout,
        health_check_interval=health_check_interval)
    return aioredis.Redis.from_pool(pool)


async def close_pubsub(pubsub: PubSub, timeout: float) -> None:
    """Closes a subscription on its way out of a reconnect loop; a Redis that is gone or slow to
    answer cannot hold the loop up (the connection is dropped either way)."""
    try:
        await asyncio.wait_for(pubsub.aclose(), timeout)
    except (RedisError, OSError, TimeoutError):
        pass
