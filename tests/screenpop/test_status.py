"""/status reports Redis, AMI (telephony heartbeats) and WispHub; /metrics counts pops."""
from __future__ import annotations

import json
import time

from tests.screenpop.conftest import call


async def test_status_is_503_until_ami_and_wisphub_are_known_then_200(nodes, agents, redis, keys,
                                                                       index):
    node = await nodes()
    http = agents(node, "probe").http
    response = await http.get(f"{node.url}/status")
    body = await response.json()
    assert response.status == 503
    assert body["redis"]["ok"] is True and body["redis"]["bus"] is True
    assert body["ami"]["ok"] is False and body["wisphub"]["ok"] is False

    await redis.set(keys.telephony_heartbeat("pbx1"),
                    json.dumps({"ami": "disconnected", "at": time.time()}), ex=30)
    await redis.set(keys.telephony_heartbeat("pbx2"),
                    json.dumps({"ami": "connected", "at": time.time()}), ex=30)
    await index.replace_all([], source="test")
    response = await http.get(f"{node.url}/status")
    body = await response.json()
    assert response.status == 200, body
    assert body["ami"]["nodes"]["pbx1"]["ami"] == "disconnected"
    assert body["ami"]["nodes"]["pbx2"]["fresh"] is True
    assert body["wisphub"]["index"]["source"] == "test"


async def test_metrics_count_sockets_and_pops(nodes, agents, users, telephony):
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"])
    node = await nodes()
    ana = agents(node, "ana")
    await ana.sign_in()
    sock = await ana.socket()
    await telephony.publish(call("m1", {"PJSIP/6001": "ringing"}))
    await sock.pop("m1")
    text = await (await ana.http.get(f"{node.url}/metrics")).text()
    assert "screenpop_sockets 1.0" in text
    assert "screenpop_pops_sent_total 1.0" in text
    assert 'screenpop_bus_messages_total{channel="calls"} 1.0' in text
