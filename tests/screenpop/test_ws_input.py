"""Bad input over the agent WebSocket: answered with an error frame that says what was wrong, the
socket kept open, no traceback logged, and nothing kept in Redis for acks of calls that are not
the sender's."""
from __future__ import annotations

import json
import logging

import pytest

from tests.screenpop.conftest import call


@pytest.fixture
async def ana_socket(nodes, agents, users):
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"])
    node = await nodes()
    ana = agents(node, "ana")
    await ana.sign_in()
    return await ana.socket()


async def reply_to(sock, text: str) -> dict:
    await sock.ws.send_str(text)
    return await sock.next(frozenset({"ping", "agent_state", "agents", "acked", "pop"}))


async def still_open(sock) -> None:
    assert (await reply_to(sock, '{"type": "ping", "t": 7}'))["t"] == 7


def no_traceback(caplog) -> None:
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR], [
        r.getMessage() for r in caplog.records]


@pytest.mark.parametrize("text,code", [
    ("[" * 2040 + "]" * 2040, "too_deep"),
    ('{"a":' * 600 + "1" + "}" * 600, "too_deep"),
    ('{"type": "ack", "call_id": "c1", "seq": 1, "x": [[[[[[[[[1]]]]]]]]]}', "too_deep"),
    ("{nope", "not_json"),
    ('{"type": "ping", "t": NaN}', "not_json"),
    ('{"type": "ack", "call_id": "\\ud800", "seq": 1}', "bad_ack"),
    ('{"type": "ack", "call_id": "' + "9" * 200 + '", "seq": 1}', "bad_ack"),
    ('{"type": "ack", "call_id": {"$gt": ""}, "seq": 1}', "bad_ack"),
    ('{"type": "ack", "call_id": "c1", "seq": true}', "bad_ack"),
    ('{"type": "ack", "call_id": "c1", "seq": 1e400}', "bad_ack"),
    ('{"type": "\\udfff"}', "unknown_type"),
    ("[]", "unknown_type"),
], ids=["nested-lists", "nested-objects", "nested-field", "broken", "nan", "lone-surrogate", "long-call-id",
        "object-call-id", "bool-seq", "float-seq", "surrogate-type", "not-an-object"])
async def test_bad_frames_get_a_clear_error_and_keep_the_socket(ana_socket, caplog, text, code):
    caplog.set_level(logging.INFO)
    error = await reply_to(ana_socket, text)
    assert (error["type"], error["code"]) == ("error", code)
    assert error["message"]  # in Spanish, says what was wrong
    await still_open(ana_socket)
    no_traceback(caplog)


@pytest.mark.parametrize("t", ["1e999", "-1e999", "1" * 400, "true", '"12"'])
async def test_a_pong_never_echoes_a_non_finite_or_non_number(ana_socket, t):
    await ana_socket.ws.send_str(f'{{"type": "ping", "t": {t}}}')
    while True:
        raw = await ana_socket.ws.receive_str(timeout=10)
        if json.loads(raw)["type"] == "pong":
            break
    assert "Infinity" not in raw and "NaN" not in raw
    assert json.loads(raw)["t"] is None


async def test_acks_of_calls_that_are_not_the_senders_keep_nothing(ana_socket, redis, keys,
                                                                   telephony):
    await telephony.publish(call("theirs", {"PJSIP/6002": "answered"}))
    for call_id in ("theirs", "never-existed", *(f"junk-{i}" for i in range(200))):
        await ana_socket.ws.send_json({"type": "ack", "call_id": call_id, "seq": 1})
    refused = 0
    while refused < 202:
        message = await ana_socket.next()
        assert (message["type"], message["code"]) == ("error", "unknown_call"), message
        refused += 1
    assert [k async for k in redis.scan_iter(match=f"{keys.prefix}:call:*:acks")] == []


async def test_the_ack_of_a_live_call_is_kept_only_as_long_as_the_call(ana_socket, redis, keys,
                                                                       telephony):
    await telephony.publish(call("mine", {"PJSIP/6001": "ringing"}))
    pop = await ana_socket.pop("mine")
    await ana_socket.send_ack("mine", pop["seq"])
    await still_open(ana_socket)  # the ack before it was handled
    assert await redis.hget(keys.call_acks("mine"), "ana") == str(pop["seq"])
    assert await redis.ttl(keys.call_acks("mine")) > 0
