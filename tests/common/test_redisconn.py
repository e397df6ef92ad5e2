import asyncio

from common import redisconn


async def test_a_burst_beyond_the_pool_waits_for_a_connection_instead_of_failing(redis_url, keys):
    client = redisconn.connect(redis_url)
    try:
        # each BLPOP holds its connection for a moment: more of them than the pool has
        burst = [client.blpop([keys.call(f"burst-{i}")], timeout=0.2)
                 for i in range(redisconn.MAX_CONNECTIONS + 50)]
        results = await asyncio.gather(*burst)
        assert results == [None] * len(burst)
    finally:
        await client.aclose()
