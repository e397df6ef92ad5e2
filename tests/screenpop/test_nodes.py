"""Several web nodes on one Redis, slow browsers, shutdown."""
from __future__ import annotations

import asyncio
import base64
import os
import socket

import aiohttp
from yarl import URL

from screenpop.push.hub import CLOSE_GOING_AWAY, QUEUE_SIZE
from screenpop.web.state import HUB, METRICS
from tests.screenpop.conftest import TIMEOUT, call, record


async def test_two_nodes_each_agent_gets_exactly_its_pops_once(nodes, agents, users, telephony):
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"])
    await users.add("luis", "secreto-123", "agent", ["PJSIP/6002"])
    node_a, node_b = await nodes(), await nodes()
    ana, luis = agents(node_a, "ana"), agents(node_b, "luis")
    await ana.sign_in()
    await luis.sign_in()
    ana_ws = await ana.socket()
    luis_ws = await luis.socket()
    ana_on_b = await ana.socket(node_b)  # the same agent also has a tab on the other node

    await telephony.publish(call("a1", {"PJSIP/6001": "ringing"}))
    await telephony.publish(call("b1", {"PJSIP/6002": "ringing"}))
    await telephony.publish(call("a2", {"PJSIP/6001": "ringing"}))
    await telephony.publish(call("end", {"PJSIP/6001": "ringing", "PJSIP/6002": "ringing"}))

    assert [(await ana_ws.pop())["call_id"] for _ in range(3)] == ["a1", "a2", "end"]
    assert [(await ana_on_b.pop())["call_id"] for _ in range(3)] == ["a1", "a2", "end"]
    assert [(await luis_ws.pop())["call_id"] for _ in range(2)] == ["b1", "end"]


async def test_a_browser_that_never_reads_is_dropped_and_others_keep_receiving(
        nodes, agents, users, index, telephony):
    # A big record makes every pop large, so the stuck socket's buffers fill quickly.
    await index.replace_all([record("1", "Cliente con dirección larga", ["+525512345678"],
                                    address="Calle " + "muy larga " * 400)], source="test")
    await users.add("slow", "secreto-123", "agent", ["PJSIP/6001"])
    await users.add("fast", "secreto-123", "agent", ["PJSIP/6002"])
    node = await nodes()
    slow, fast = agents(node, "slow"), agents(node, "fast")
    await slow.sign_in()
    await fast.sign_in()
    stuck = await stuck_socket(node, slow)
    fast_ws = await fast.socket()
    metrics = node.app[METRICS]

    received = 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    batch = QUEUE_SIZE
    while not metrics.registry.get_sample_value("screenpop_slow_sockets_dropped_total"):
        assert loop.time() < deadline, "the stuck socket was never dropped"
        for i in range(batch):
            await telephony.publish(call(f"c{received + i}", {"PJSIP/6001": "ringing",
                                                              "PJSIP/6002": "ringing"}))
        for i in range(batch):
            assert (await fast_ws.pop())["call_id"] == f"c{received + i}"
        received += batch
    await telephony.publish(call("after", {"PJSIP/6002": "ringing"}))
    assert (await fast_ws.pop())["call_id"] == "after"
    hub = node.app[HUB]
    while hub.has("slow"):  # the dropped socket's handler has finished
        assert loop.time() < deadline
        await asyncio.sleep(0.05)
    assert hub.has("fast")
    stuck.close()


async def stuck_socket(node, agent) -> asyncio.StreamWriter:
    """A WebSocket client that completes the handshake and then never reads, with tiny buffers."""
    cookie = agent.http.cookie_jar.filter_cookies(URL(node.url))["sp_session"].value
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.setblocking(False)
    await asyncio.get_running_loop().sock_connect(raw, ("127.0.0.1", node.port))
    reader, writer = await asyncio.open_connection(sock=raw, limit=4096)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{node.port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  f"Sec-WebSocket-Version: 13\r\nOrigin: {node.url}\r\n"
                  f"Cookie: sp_session={cookie}\r\n\r\n").encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
    assert head.startswith(b"HTTP/1.1 101"), head
    return writer


async def test_shutdown_closes_sockets_with_going_away(nodes, agents, users):
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"])
    node = await nodes()
    ana = agents(node, "ana")
    await ana.sign_in()
    sock = await ana.socket()
    stopping = asyncio.create_task(node.stop())
    message = await sock.ws.receive(timeout=TIMEOUT)
    assert message.type == aiohttp.WSMsgType.CLOSE and message.data == CLOSE_GOING_AWAY
    await sock.ws.close()
    await asyncio.wait_for(stopping, TIMEOUT)
