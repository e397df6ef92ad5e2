"""Every Redis key a call leaves behind expires: a whole call through the real app (pop and ack,
link, guided call, activation, a document) and then a look at every key named after it."""
from __future__ import annotations

import aiohttp

from tests.activation.conftest import CALL_ID, post
from tests.activation.samples import png


async def test_every_key_of_a_call_expires(agent_on_call, redis, keys):
    pop, agent = agent_on_call
    sock = await agent.socket()
    [replayed] = sock.replayed
    await sock.send_ack(CALL_ID, replayed["seq"], seen=True)
    assert (await sock.next_of("acked"))["call_id"] == CALL_ID
    assert (await agent.link(CALL_ID, "1001")).status == 200
    response = await agent.http.post(f"{pop.url}/api/calls/{CALL_ID}/progress",
                                     json={"step": "cobertura"},
                                     headers={"X-CSRF-Token": agent.csrf})
    assert response.status == 200
    status, body = await post(agent, f"/api/calls/{CALL_ID}/activate")
    assert status == 200, body
    form = aiohttp.FormData()
    form.add_field("kind", "dni_front")
    form.add_field("file", png(), filename="ine.png", content_type="image/png")
    status, body = await post(agent, f"/api/calls/{CALL_ID}/documents", data=form)
    assert status == 200, body

    names = [k async for k in redis.scan_iter(match=f"{keys.prefix}:call:{CALL_ID}*")]
    names += [k async for k in redis.scan_iter(match=f"{keys.prefix}:endpoint:*:calls")]
    assert {keys.call(CALL_ID), keys.call_acks(CALL_ID), keys.call_link(CALL_ID),
            keys.call_progress(CALL_ID), keys.call_audit(CALL_ID)} <= set(names)
    forever = [name for name in names if await redis.ttl(name) < 0]
    assert forever == []
