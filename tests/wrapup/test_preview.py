"""Preview offers: the engine's offer reaches only the offered agent's sockets (with the record
as the pop shows it), comes back to a tab opened later, and the agent's Llamar / Saltar lands on
the engine's command list while every tab of the agent is cleared."""
from __future__ import annotations

import asyncio
import json

from tests.screenpop.conftest import record
from tests.wrapup.conftest import post

OFFER = {"attempt_id": "6f1c0a3e9b2d4c55a1e0f00112233445", "campaign_id": "c1",
         "campaign_name": "Preinstalaciones julio", "preinstallation_id": "1842",
         "phone": "+525512345678", "worker": "engine-1", "offered_at": "1732431000.5"}


async def offer(redis, keys, username: str, fields: dict) -> None:
    """What the engine does: the offer hash, then the announcement."""
    await redis.hset(keys.dialer_offer(username), mapping=fields)
    await redis.publish(keys.dialer_offers_channel,
                        json.dumps({"username": username, "offer": fields}))


async def nothing_but_pong(sock) -> list[str]:
    """Every message type up to the answer of a ping sent now (what else reached the socket)."""
    await sock.ws.send_json({"type": "ping", "t": 1})
    seen = []
    while True:
        message = await sock.next(frozenset())
        if message["type"] == "pong":
            return seen
        seen.append(message["type"])


async def test_the_offer_reaches_only_the_offered_agent_and_llamar_lands_on_the_list(
        floor, redis, keys, index):
    _, agents = floor
    await index.replace_all([record("1842", "Juan Pérez", ["+525512345678"])], "test")
    ana_sock = await agents["ana"].socket()
    beto_sock = await agents["beto"].socket()
    await offer(redis, keys, "ana", OFFER)
    preview = await ana_sock.next_of("preview")
    assert preview["offer"]["attempt_id"] == OFFER["attempt_id"]
    assert preview["offer"]["phone_display"] == "+52 55 1234 5678"
    assert "worker" not in preview["offer"]
    [shown] = preview["match"]["preinstallations"]
    assert (shown["name"], shown["missing_labels"][:1]) == ("Juan Pérez", ["INE (frente)"])
    assert "preview" not in await nothing_but_pong(beto_sock)

    later = await agents["ana"].socket()  # a tab opened now gets the pending offer again
    assert (await later.next_of("preview"))["offer"]["attempt_id"] == OFFER["attempt_id"]

    status, body = await post(agents["beto"], "/api/dialer/preview",
                              {"attempt_id": OFFER["attempt_id"], "action": "call"})
    assert (status, body["error"]) == (409, "offer_gone")
    status, body = await post(agents["ana"], "/api/dialer/preview",
                              {"attempt_id": OFFER["attempt_id"], "action": "call"}, csrf=False)
    assert status == 403
    status, body = await post(agents["ana"], "/api/dialer/preview",
                              {"attempt_id": OFFER["attempt_id"], "action": "llamar"})
    assert status == 400 and body["message"].startswith("Indique")

    status, body = await post(agents["ana"], "/api/dialer/preview",
                              {"attempt_id": OFFER["attempt_id"], "action": "call"})
    assert status == 200, body
    commands = keys.dialer_commands("engine-1")
    assert [json.loads(c) for c in await redis.lrange(commands, 0, -1)] == [
        {"attempt_id": OFFER["attempt_id"], "action": "call", "by": "ana"}]
    assert 0 < await redis.ttl(commands) <= 300
    assert not await redis.exists(keys.dialer_offer("ana"))
    for sock in (ana_sock, later):
        assert (await sock.next_of("preview"))["offer"] is None
    status, body = await post(agents["ana"], "/api/dialer/preview",
                              {"attempt_id": OFFER["attempt_id"], "action": "skip"})
    assert (status, body["error"]) == (409, "offer_gone")  # answered once only
    assert await redis.llen(commands) == 1


async def test_skip_then_a_record_the_index_does_not_have(floor, redis, keys):
    _, agents = floor
    sock = await agents["ana"].socket()
    await offer(redis, keys, "ana", {**OFFER, "preinstallation_id": "999"})
    preview = await sock.next_of("preview")
    assert preview["match"] == {"status": "none", "preinstallations": []}
    status, _ = await post(agents["ana"], "/api/dialer/preview",
                           {"attempt_id": OFFER["attempt_id"], "action": "skip"})
    assert status == 200
    assert json.loads(await redis.lindex(keys.dialer_commands("engine-1"), 0))["action"] == "skip"
    # a malformed announcement is ignored; the socket goes on
    await redis.publish(keys.dialer_offers_channel, "{no es json")
    await redis.publish(keys.dialer_offers_channel, json.dumps({"username": "ana", "offer": 3}))
    assert (await asyncio.wait_for(sock.next_of("preview"), 5))["offer"] is None
    assert "preview" not in await nothing_but_pong(sock)
