"""CallPublisher and Heartbeat against a real Redis (and a real outage of it)."""
from __future__ import annotations

import json
from urllib.parse import urlparse

import pytest
import redis.asyncio as aioredis

from common.envelope import CallUpdate
from common.keys import CALL_STATE_TTL_SECONDS, ENDED_CALL_TTL_SECONDS
from telephony.publisher import BATCH_LIMIT, CallPublisher, Heartbeat
from tests.listener.helpers import TcpForwarder, eventually, free_port, next_update


def update(call_id: str, state: str, agents: dict[str, str], seq: int) -> CallUpdate:
    return CallUpdate(call_id=call_id, direction="inbound", state=state,
                      customer_number="5512345678", agents=agents, queue="ventas", seq=seq)


@pytest.fixture
async def publisher(redis, keys):
    pub = CallPublisher(redis, keys, node="test-node")
    pub.start()
    yield pub
    await pub.stop()


async def test_each_update_is_stored_indexed_by_endpoint_and_published_in_order(
        publisher, redis, keys, bus):
    steps = [
        update("c1", "ringing", {"PJSIP/6001": "ringing", "PJSIP/6002": "ringing"}, 1),
        update("c1", "answered", {"PJSIP/6001": "answered", "PJSIP/6002": "answered_elsewhere"}, 2),
    ]
    for step in steps:
        publisher.submit(step)
    assert [await next_update(bus), await next_update(bus)] == steps

    assert CallUpdate.from_json(await redis.get(keys.call("c1"))) == steps[-1]
    assert 0 < await redis.ttl(keys.call("c1")) <= CALL_STATE_TTL_SECONDS
    assert await redis.smembers(keys.endpoint_calls("PJSIP/6001")) == {"c1"}
    assert await redis.smembers(keys.endpoint_calls("PJSIP/6002")) == set()
    assert 0 < await redis.ttl(keys.endpoint_calls("PJSIP/6001")) <= CALL_STATE_TTL_SECONDS

    ended = update("c1", "ended", {"PJSIP/6001": "ended", "PJSIP/6002": "answered_elsewhere"}, 3)
    publisher.submit(ended)
    assert await next_update(bus) == ended
    assert await redis.smembers(keys.endpoint_calls("PJSIP/6001")) == set()
    assert 0 < await redis.ttl(keys.call("c1")) <= ENDED_CALL_TTL_SECONDS


async def test_a_burst_larger_than_one_round_trip_is_published_whole_and_in_order(
        publisher, redis, keys, bus):
    burst = [update(f"burst-{i}", "ringing", {f"PJSIP/{7000 + i}": "ringing"}, 1)
             for i in range(BATCH_LIMIT * 2 + 7)]
    for step in burst:
        publisher.submit(step)
    assert [await next_update(bus) for _ in burst] == burst
    assert await publisher.flush(10)
    last = burst[-1]
    assert CallUpdate.from_json(await redis.get(keys.call(last.call_id))) == last
    assert await redis.smembers(keys.endpoint_calls(f"PJSIP/{7000 + len(burst) - 1}")) == {
        last.call_id}
    assert publisher.published == len(burst)


async def test_updates_made_while_redis_is_down_are_delivered_when_it_returns(redis, redis_url, keys, bus):
    port = free_port()  # nothing listens here yet: Redis is "down"
    target = urlparse(redis_url)
    lonely = aioredis.from_url(f"redis://127.0.0.1:{port}/{target.path.lstrip('/') or 0}",
                               decode_responses=True, socket_connect_timeout=0.5, socket_timeout=0.5)
    publisher = CallPublisher(lonely, keys, node="test-node", retry_base=0.02, retry_cap=0.1)
    forwarder = TcpForwarder(target.hostname or "127.0.0.1", target.port or 6379)
    publisher.start()
    try:
        publisher.submit(update("held", "ringing", {"PJSIP/6001": "ringing"}, 1))
        await eventually(lambda: not publisher.redis_ok, "publisher notices Redis is down")
        publisher.submit(update("held", "answered", {"PJSIP/6001": "answered"}, 2))
        publisher.submit(update("gone", "ringing", {"PJSIP/6002": "ringing"}, 1))
        publisher.submit(update("gone", "ended", {"PJSIP/6002": "missed"}, 2))
        publisher.submit(update("new", "ringing", {"PJSIP/6003": "ringing"}, 1))

        await forwarder.start(port)  # Redis is reachable again on the same address
        assert await publisher.flush(10.0)

        received = {}
        for _ in range(3):
            got = await next_update(bus)
            received[got.call_id] = got
        assert {cid: (u.state, u.seq) for cid, u in received.items()} == {
            "held": ("answered", 2), "gone": ("ended", 2), "new": ("ringing", 1)}
        assert publisher.redis_ok and publisher.discarded == 0
        assert await redis.smembers(keys.endpoint_calls("PJSIP/6001")) == {"held"}
        assert await redis.smembers(keys.endpoint_calls("PJSIP/6002")) == set()
        assert CallUpdate.from_json(await redis.get(keys.call("held"))).state == "answered"
    finally:
        await publisher.stop()
        await lonely.aclose()
        await forwarder.close()


async def test_backlog_bound_forgets_ended_calls_before_live_ones(keys):
    port = free_port()
    lonely = aioredis.from_url(f"redis://127.0.0.1:{port}/0", socket_connect_timeout=0.2,
                               socket_timeout=0.2)
    publisher = CallPublisher(lonely, keys, node="test-node", max_pending=2, retry_base=5.0, retry_cap=5.0)
    try:
        publisher.submit(update("ended-1", "ended", {"PJSIP/6001": "ended"}, 3))
        publisher.submit(update("live-1", "answered", {"PJSIP/6002": "answered"}, 2))
        publisher.submit(update("live-2", "ringing", {"PJSIP/6003": "ringing"}, 1))
        assert publisher.backlog == 2
        assert publisher.discarded == 1
        publisher.submit(update("live-1", "ended", {"PJSIP/6002": "ended"}, 3))
        assert publisher.backlog == 2  # same call: replaced, nothing forgotten
        assert publisher.discarded == 1
    finally:
        await lonely.aclose()


async def test_heartbeat_reports_ami_state_with_an_expiry(redis, keys):
    heartbeat = Heartbeat(redis, keys, "node-a", lambda: ("connected", 42), interval=0.5)
    await heartbeat.beat()
    body = json.loads(await redis.get(keys.telephony_heartbeat("node-a")))
    assert body["ami"] == "connected" and body["events"] == 42 and body["at"] > 0
    assert 0 < await redis.pttl(keys.telephony_heartbeat("node-a")) <= 1500
