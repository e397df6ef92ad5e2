"""The telephony service end to end: simulator → AMI over TCP → tracker → real Redis."""
from __future__ import annotations

import aiohttp
import redis.asyncio as aioredis

from common.envelope import CallUpdate
from telephony.ami.frames import TERMINATOR
from telephony.simulator.catalogue import TRACES_DIR
from telephony.simulator.template import read_trace
from tests.listener.conftest import with_changes
from tests.listener.helpers import eventually, free_port, updates_until

AGENTS = ["PJSIP/6001", "PJSIP/6002"]


async def held_inbound_call(sim):
    return await sim.start_call("inbound_queue", customer="+525512345678", name="Juan Pérez",
                                agents=AGENTS, queue="ventas", strategy="ringall",
                                answered_by="PJSIP/6001", hold_at="answered", speed=0.0)


def of_call(call_id: str, state: str):
    return lambda update: update.call_id == call_id and update.state == state


async def connected_service(services, config):
    service = await services(config)
    await eventually(lambda: service.listener.connected and service.listener.stats.resyncs >= 1,
                     "service logged in and resynced")
    return service


async def get_json(port: int, path: str) -> tuple[int, dict]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        async with http.get(f"http://127.0.0.1:{port}{path}") as response:
            return response.status, await response.json()


async def get_text(port: int, path: str) -> str:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        async with http.get(f"http://127.0.0.1:{port}{path}") as response:
            assert response.status == 200
            return await response.text()


async def test_inbound_queue_call_is_published_stored_and_indexed(services, config, sim, bus, redis, keys):
    await connected_service(services, config)
    call = await held_inbound_call(sim)

    seen = await updates_until(bus, of_call(call.call_id, "answered"))
    states = [u.state for u in seen if u.call_id == call.call_id]
    assert states[0] == "ringing" and states[-1] == "answered"
    answered = seen[-1]
    assert answered.agents["PJSIP/6001"] == "answered"
    assert answered.customer_number is not None and "5512345678" in answered.customer_number
    stored = CallUpdate.from_json(await redis.get(keys.call(call.call_id)))
    assert stored.state == "answered" and stored.agents["PJSIP/6001"] == "answered"
    assert await redis.smembers(keys.endpoint_calls("PJSIP/6001")) == {call.call_id}
    assert call.call_id not in await redis.smembers(keys.endpoint_calls("PJSIP/6002"))

    await call.release()
    ended = (await updates_until(bus, of_call(call.call_id, "ended")))[-1]
    assert ended.seq > answered.seq
    assert await redis.smembers(keys.endpoint_calls("PJSIP/6001")) == set()
    assert CallUpdate.from_json(await redis.get(keys.call(call.call_id))).state == "ended"


async def test_dropped_connection_mid_call_resyncs_and_pops_again(services, config, sim, bus):
    service = await connected_service(services, config)
    call = await held_inbound_call(sim)
    await updates_until(bus, of_call(call.call_id, "answered"))

    await sim.drop_connections()
    again = (await updates_until(bus, lambda u: u.call_id == call.call_id))[-1]
    assert again.state == "answered" and again.agents.get("PJSIP/6001") == "answered"
    assert sim.logins == 2 and service.listener.stats.reconnects == 1

    await call.release()
    await updates_until(bus, of_call(call.call_id, "ended"))


async def test_a_restarted_listener_publishes_the_call_in_progress(services, config, sim, bus):
    first = await connected_service(services, config)
    call = await held_inbound_call(sim)
    await updates_until(bus, of_call(call.call_id, "answered"))
    await first.stop()

    await connected_service(services, config)
    update = await updates_until(bus, lambda u: u.call_id == call.call_id)
    assert update[-1].state == "answered" and update[-1].agents.get("PJSIP/6001") == "answered"

    await call.release()
    await updates_until(bus, of_call(call.call_id, "ended"))


async def test_status_follows_the_pbx_and_metrics_expose_counters(services, config, sim, bus):
    service = await connected_service(services, config)
    status, body = await get_json(service.status_port, "/status")
    assert status == 200 and body["ami"]["state"] == "connected" and body["redis"]["ok"]

    call = await held_inbound_call(sim)
    await updates_until(bus, of_call(call.call_id, "answered"))
    metrics = await get_text(service.status_port, "/metrics")
    for name in ('telephony_ami_events_total{type="channel"}', "telephony_ami_reconnects_total",
                 "telephony_ami_ping_timeouts_total", "telephony_call_updates_published_total",
                 "telephony_publish_backlog", "telephony_live_calls 1.0",
                 "telephony_publish_latency_seconds_bucket", "telephony_ami_connected 1.0"):
        assert name in metrics

    await sim.stop()
    await eventually(lambda: not service.listener.connected, "listener notices the PBX is gone")
    status, body = await get_json(service.status_port, "/status")
    assert status == 503 and body["ami"]["ok"] is False and body["redis"]["ok"] is True


async def test_status_is_503_when_redis_does_not_answer(services, config):
    lonely = aioredis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.2,
                               socket_timeout=0.2)
    try:
        service = await services(config, lonely)
        await eventually(lambda: service.listener.connected, "AMI connected")
        status, body = await get_json(service.status_port, "/status")
        assert status == 503 and body["ami"]["ok"] is True and body["redis"]["ok"] is False
    finally:
        await service.stop()
        await lonely.aclose()


async def test_a_restart_mid_call_numbers_on_above_everything_published_before(
        services, config, sim, bus):
    first = await connected_service(services, config)
    call = await held_inbound_call(sim)
    before = await updates_until(bus, of_call(call.call_id, "answered"))
    await first.stop()

    await connected_service(services, config)
    republished = (await updates_until(bus, lambda u: u.call_id == call.call_id))[-1]
    await call.release()
    ended = (await updates_until(bus, of_call(call.call_id, "ended")))[-1]
    highest_before = max(u.seq for u in before if u.call_id == call.call_id)
    assert highest_before < republished.seq < ended.seq


async def test_a_call_that_ended_while_telephony_was_down_is_ended_at_the_resync(
        services, config, sim, bus, redis, keys):
    first = await connected_service(services, config)
    gone = await held_inbound_call(sim)
    kept = await sim.start_call("inbound_direct", customer="5598765432", agents=["PJSIP/6002"],
                                hold_at="answered", speed=0.0)
    answered = (await updates_until(bus, of_call(gone.call_id, "answered")))[-1]
    await updates_until(bus, of_call(kept.call_id, "answered"))
    live_calls = keys.telephony_live_calls(config.node_name)
    assert await redis.smembers(live_calls) == {gone.call_id, kept.call_id}
    await first.stop()
    await sim.hangup(gone.call_id)  # nobody listening: its Hangup events are lost

    second = await connected_service(services, config)
    ended = (await updates_until(bus, of_call(gone.call_id, "ended")))[-1]
    assert ended.agents == {"PJSIP/6001": "ended", "PJSIP/6002": "answered_elsewhere"}
    assert ended.seq > answered.seq and ended.customer_number == answered.customer_number
    assert CallUpdate.from_json(await redis.get(keys.call(gone.call_id))).state == "ended"
    assert await redis.smembers(keys.endpoint_calls("PJSIP/6001")) == set()
    # the call Asterisk still has stays answered
    assert await redis.smembers(live_calls) == {kept.call_id}
    assert await redis.smembers(keys.endpoint_calls("PJSIP/6002")) == {kept.call_id}
    assert CallUpdate.from_json(await redis.get(keys.call(kept.call_id))).state == "answered"
    await eventually(lambda: second.publisher.ended_while_away == 1, "the ghost counted")
    await kept.release()
    await updates_until(bus, of_call(kept.call_id, "ended"))
    assert await redis.smembers(live_calls) == set()


async def test_every_chanvariable_of_a_dialer_call_reaches_the_envelope(services, config, sim, bus):
    """The recorded Asterisk 20 stream of a dialer call with `channelvars`, as a listener with
    the default AMI_EVENTS receives it, through panoramisk (which turns the repeated
    `ChanVariable:` headers into a list) into the published envelope."""
    await connected_service(services, with_changes(config, agent_endpoint_patterns=("SIP/600*",)))
    recorded = read_trace((TRACES_DIR / "dialer" / "agent-first.txt").read_bytes())
    wanted = [event.block + TERMINATOR for event in recorded
              if {"call", "agent", "user"} & set(event.headers.get("Privilege", "").split(","))]
    await sim.send_raw(b"".join(wanted))
    seen = await updates_until(bus, lambda u: u.state == "ended")
    assert {u.call_id for u in seen} == {"c7-1001-agent"}
    assert all(u.variables == {"CAMPAIGN_ID": "c7", "PREINST_ID": "1001"} for u in seen)


async def test_a_restarted_service_republishes_a_direct_call_with_the_callers_number(
        services, config, sim, bus):
    """Asterisk's Local `;1` caller shows the agent's `6001` as caller ID once the agent's phone
    rings; the rebuilt call must still name the caller."""
    first = await connected_service(services, config)
    call = await sim.start_call("inbound_direct", customer="+525598765432",
                                agents=["PJSIP/6001"], hold_at="answered", speed=0.0)
    answered = (await updates_until(bus, of_call(call.call_id, "answered")))[-1]
    assert answered.customer_number == "+525598765432"
    await first.stop()

    await connected_service(services, config)
    rebuilt = (await updates_until(bus, lambda u: u.call_id == call.call_id))[-1]
    assert (rebuilt.state, rebuilt.customer_number, rebuilt.agents) == (
        "answered", "+525598765432", {"PJSIP/6001": "answered"})
    await call.release()
    await updates_until(bus, of_call(call.call_id, "ended"))
