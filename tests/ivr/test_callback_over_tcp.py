"""The FastAGI `callback` script over TCP: a waiting caller's request is stored under the queue
with the time they joined it as its score (their place in line), with their number and record."""
from __future__ import annotations

import json

from tests.ivr.peer import AsteriskSide, recorded_env, with_env

CALLBACK = ("callback?queue=ventas&entered=1796155700.5&preinst=1001"
            "&call=1796155799.1")


async def test_a_callback_request_keeps_the_callers_place_and_record(ivr, redis, keys):
    env = with_env(recorded_env(), network_script=CALLBACK)
    transcript = await AsteriskSide(ivr.port, env).run()
    assert transcript.variables == {"SP_CALLBACK": "ok"}
    [(member, score)] = await redis.zrange(keys.callback_requests("ventas"), 0, -1, withscores=True)
    request = json.loads(member)
    assert score == 1796155700.5
    assert {k: request[k] for k in ("number", "queue", "preinstallation_id", "call_id")} == {
        "number": "+525512345678", "queue": "ventas", "preinstallation_id": "1001",
        "call_id": "1796155799.1"}
    assert await redis.smembers(keys.callback_queues) == {"ventas"}  # the supervisor page lists it


async def test_callers_are_kept_in_the_order_they_joined(ivr, redis, keys):
    for entered, caller in (("300", "5215511111111"), ("100", "5215522222222"),
                            ("200", "5215533333333")):
        env = with_env(recorded_env(), callerid=caller,
                       network_script=f"callback?queue=ventas&entered={entered}")
        assert (await AsteriskSide(ivr.port, env).run()).variables == {"SP_CALLBACK": "ok"}
    members = await redis.zrange(keys.callback_requests("ventas"), 0, -1)
    assert [json.loads(m)["number"] for m in members] == [
        "+525522222222", "+525533333333", "+525511111111"]


async def test_a_caller_who_asks_twice_keeps_one_request_and_the_first_place(ivr, redis, keys):
    for entered in ("100", "200"):  # called again later, asked again
        env = with_env(recorded_env(), network_script=f"callback?queue=ventas&entered={entered}")
        assert (await AsteriskSide(ivr.port, env).run()).variables == {"SP_CALLBACK": "ok"}
    [(member, place)] = await redis.zrange(keys.callback_requests("ventas"), 0, -1,
                                           withscores=True)
    assert json.loads(member)["number"] == "+525512345678" and place == 100.0
    # while the dialler calls them back, asking again adds nothing either
    await redis.zrem(keys.callback_requests("ventas"), member)
    await redis.hset(keys.callbacks_processing("ventas"), member, json.dumps({"place": place}))
    env = with_env(recorded_env(), network_script="callback?queue=ventas&entered=300")
    assert (await AsteriskSide(ivr.port, env).run()).variables == {"SP_CALLBACK": "ok"}
    assert await redis.zcard(keys.callback_requests("ventas")) == 0


async def test_a_withheld_caller_cannot_be_called_back(ivr, redis, keys):
    env = with_env(recorded_env(), callerid="anonymous", network_script=CALLBACK)
    transcript = await AsteriskSide(ivr.port, env).run()
    assert transcript.variables == {"SP_CALLBACK": "no-number"}
    assert await redis.zcard(keys.callback_requests("ventas")) == 0


async def test_a_request_without_a_queue_or_with_garbage_is_refused_cleanly(ivr, redis, keys):
    for script in ("callback", "callback?queue=../../x", "callback?queue=ventas&entered=abc"
                   "&preinst=1%0a2&call=%22"):
        env = with_env(recorded_env(), network_script=script)
        transcript = await AsteriskSide(ivr.port, env).run()
        assert transcript.server_closed
    # only the last one names a queue: stored, with the garbage fields dropped
    [member] = await redis.zrange(keys.callback_requests("ventas"), 0, -1)
    assert json.loads(member)["preinstallation_id"] is None
    assert json.loads(member)["call_id"] is None
