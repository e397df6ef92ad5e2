"""The IVR's index reader on the real Redis: look-ups that arrive together share one round trip,
each gets its own answer, and a Redis that lost its scripts (restart, SCRIPT FLUSH) still
answers."""
from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from screenpop.index import PreinstallationIndex
from telephony.ivr.index_reader import IndexReader

from .conftest import preinstallation


async def test_concurrent_lookups_share_round_trips_and_get_their_own_answers(redis, keys, index):
    await index.replace_all([preinstallation(str(1000 + n), f"Cliente {n}", f"+52551000{n:04d}")
                             for n in range(50)], "test")
    reader = IndexReader(redis, keys)
    await reader.prepare()
    numbers = [f"+52551000{n:04d}" for n in range(50)] + ["+523310000000"] * 10
    matches = await asyncio.gather(*(reader.match(number) for number in numbers))
    assert [m.records[0].name for m in matches[:50]] == [f"Cliente {n}" for n in range(50)]
    assert all(m.status == "none" for m in matches[50:])
    assert reader.batches <= 2  # 60 look-ups: the first alone, the rest in the next batch


async def test_a_redis_that_lost_the_script_still_answers(tmp_path, keys):
    """On a private redis-server (SCRIPT FLUSH on the shared one would hit other tests)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = await asyncio.create_subprocess_exec(
        "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", "--dir", str(tmp_path), stdout=asyncio.subprocess.DEVNULL)
    client = aioredis.from_url(f"redis://127.0.0.1:{port}/0", decode_responses=True)
    try:
        async with asyncio.timeout(10):
            while True:
                try:
                    await client.ping()
                    break
                except (RedisConnectionError, OSError):
                    await asyncio.sleep(0.05)
        await PreinstallationIndex(client, keys).replace_all(
            [preinstallation("1001", "Juan Pérez", "+525512345678")], "test")
        reader = IndexReader(client, keys)
        await reader.prepare()
        await client.script_flush()
        match = await reader.match("+525512345678")
        assert match.status == "one" and match.records[0].name == "Juan Pérez"
    finally:
        await client.aclose()
        server.terminate()
        await server.wait()
