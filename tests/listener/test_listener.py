"""AmiListener against the PBX simulator over TCP: each weak edge of panoramisk 1.4
(ami-and-panoramisk.md §0/§1.1) is shown not to stall, corrupt or kill the listener."""
from __future__ import annotations

import asyncio
import random

import pytest

from telephony.ami.listener import AmiListener, Resync
from tests.listener.conftest import next_item, with_changes
from tests.listener.helpers import TcpForwarder, eventually, free_port

SENTINEL = b"Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: sentinel\r\n\r\n"


def is_sentinel(item) -> bool:
    return isinstance(item, dict) and item.get("UserEvent") == "sentinel"


class ExplodingQueue(asyncio.Queue):
    """A consumer that fails on one kind of event."""

    def put_nowait(self, item):
        if isinstance(item, dict) and item.get("UserEvent") == "boom":
            raise RuntimeError("consumer exploded")
        super().put_nowait(item)


async def start(config, queue=None, **kwargs) -> tuple[AmiListener, asyncio.Queue]:
    queue = queue if queue is not None else asyncio.Queue()
    listener = AmiListener(config, queue, retry_base=0.05, retry_cap=0.2, **kwargs)
    listener.start()
    return listener, queue


async def until_resync(queue: asyncio.Queue) -> Resync:
    while not isinstance(item := await next_item(queue), Resync):
        pass
    return item


@pytest.fixture
async def listening(config, sim):
    """A listener logged in, its resync consumed: the queue is quiet until the PBX speaks."""
    listener, queue = await start(config, ExplodingQueue())
    await until_resync(queue)
    yield listener, queue
    await listener.stop()


async def test_login_resyncs_and_reports_connected(config, sim):
    listener, queue = await start(config)
    try:
        assert await until_resync(queue) == Resync([])
        assert listener.state == "connected" and listener.connected
        assert sim.logins == 1
    finally:
        await listener.stop()
    assert listener.state == "disconnected"


async def test_a_consumer_that_raises_does_not_drop_the_connection(listening, sim):
    listener, queue = listening
    boom = b"Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: boom\r\n\r\n"
    await sim.send_raw(boom + SENTINEL)  # one write: both in the same read
    assert is_sentinel(await next_item(queue))
    assert listener.stats.dropped_events == 1
    assert listener.stats.reconnects == 0 and sim.logins == 1
    # the tracker missed an event: the next watchdog round asks for a fresh picture
    assert isinstance(await next_item(queue), Resync)
    assert listener.stats.reconnects == 0 and sim.logins == 1


async def test_shutdown_event_is_a_disconnect_followed_by_a_new_login(listening, sim):
    listener, queue = listening
    await sim.send_raw(b"Event: Shutdown\r\nPrivilege: system,all\r\nShutdown: Cleanly\r\n"
                       b"Restart: True\r\n\r\n")
    assert (await next_item(queue))["Event"] == "Shutdown"
    assert isinstance(await until_resync(queue), Resync)
    assert sim.logins == 2 and listener.stats.reconnects == 1
    assert listener.stats.pbx_restarts == 1 and listener.stats.auth_failures == 0


async def test_asterisk_shutting_down_at_login_is_a_pbx_restart_not_a_wrong_secret(config, sim):
    """While Asterisk stops or restarts it answers every action, Login included, with
    `Response: Error` / `Message: Asterisk is shutting down` and keeps the connection open."""
    port = free_port()
    forwarder = TcpForwarder("127.0.0.1", sim.port)  # counts connection attempts
    await forwarder.start(port)
    sim.shutting_down = True
    listener, queue = await start(with_changes(config, ami_port=port))
    try:
        await eventually(lambda: listener.stats.pbx_restarts >= 2, "two refused logins")
        assert listener.state == "connecting"
        assert "Asterisk se está apagando o reiniciando" in listener.last_error
        assert "Asterisk is shutting down" in listener.last_error
        assert listener.stats.auth_failures == 0 and sim.logins == 0
        assert forwarder.connections >= 2  # a new connection for each try
        sim.shutting_down = False  # Asterisk is back
        await until_resync(queue)
        assert listener.connected and listener.last_error is None and sim.logins == 1
    finally:
        await listener.stop()
        await forwarder.close()


@pytest.mark.parametrize("frame", [
    pytest.param(b"\x00\xff\xfe\x80garbage\x01\r\n\r\n", id="garbage-bytes"),
    pytest.param(b"this line has no colon\r\nneither does this\r\n\r\n", id="no-colon-lines"),
    pytest.param(b"Event: Newchannel\r\nEvent: Newstate\r\nUniqueid: 1.1\r\n\r\n",
                 id="repeated-event-header"),
    pytest.param(b"Response: Success\r\nActionID: nobody-asked\r\nMessage: x\r\n\r\n",
                 id="unsolicited-response"),
    pytest.param(b"Event: Newchannel\r\nChannel: " + b"A" * 1_000_000 + b"\r\n\r\n",
                 id="1MB-header-line"),
    pytest.param(b"\xfe" * 1_500_000 + b"\r\n\r\n", id="1.5MB-without-line-breaks"),
])
async def test_malformed_frames_are_skipped_and_the_next_event_arrives(listening, sim, frame):
    listener, queue = listening
    await sim.send_raw(frame + SENTINEL)
    assert is_sentinel(await next_item(queue))
    assert listener.connected and listener.stats.reconnects == 0 and sim.logins == 1


async def test_oversized_frames_are_counted(listening, sim):
    listener, queue = listening
    await sim.send_raw(b"Event: Big\r\nX: " + b"a" * 1_000_000 + b"\r\n\r\n" + SENTINEL)
    assert is_sentinel(await next_item(queue))
    assert listener.stats.oversized_frames == 1


async def test_non_utf8_bytes_and_split_characters_arrive_intact(listening, sim):
    _, queue = listening
    await sim.send_raw(b"Event: UserEvent\r\nUserEvent: cp1252\r\nCallerIDName: P\xe9rez\r\n\r\n")
    assert (await next_item(queue))["CallerIDName"] == "Pérez"
    await sim.send_raw(b"Event: UserEvent\r\nUserEvent: split\r\nCallerIDName: Jos\xc3")
    # a pause so the second half reaches the listener in a read of its own
    await asyncio.sleep(0.05)
    await sim.send_raw(b"\xa9 Mu\xc3\xb1oz\r\n\r\n")
    assert (await next_item(queue))["CallerIDName"] == "José Muñoz"


async def test_unanswered_pings_make_the_listener_reconnect(listening, sim):
    listener, queue = listening
    sim.answer_pings = False
    await eventually(lambda: listener.stats.ping_timeouts >= 1, "a ping timeout")
    sim.answer_pings = True
    await eventually(lambda: sim.logins >= 2, "a new login after the silent connection")
    assert isinstance(await until_resync(queue), Resync)
    assert listener.stats.reconnects >= 1
    await eventually(lambda: listener.connected, "connected again")


async def test_unreachable_pbx_is_retried_until_it_appears(config, sim):
    port = free_port()
    forwarder = TcpForwarder("127.0.0.1", sim.port)
    listener, queue = await start(with_changes(config, ami_port=port))
    try:
        await eventually(lambda: listener.stats.reconnects >= 2, "retries while nothing listens")
        assert listener.state == "connecting" and "cannot connect" in listener.last_error
        await forwarder.start(port)
        await until_resync(queue)
        assert listener.connected
    finally:
        await listener.stop()
        await forwarder.close()


async def test_wrong_secret_is_reported_and_retried_slowly(config, sim):
    port = free_port()
    forwarder = TcpForwarder("127.0.0.1", sim.port)  # counts connection attempts
    await forwarder.start(port)
    listener = AmiListener(with_changes(config, ami_port=port, ami_secret="wrong"),
                           asyncio.Queue(), rand=random.Random(7))  # production backoff
    listener.start()
    try:
        await eventually(lambda: listener.state == "auth_failed", "state auth_failed")
        assert "rechazó el usuario/secreto" in listener.last_error
        assert "Authentication failed" in listener.last_error
        before = forwarder.connections
        await asyncio.sleep(1.0)  # an observation window, not synchronisation
        # a refused login waits ≥ 0.4 s before the next try (a hot loop would make ~20 here)
        assert forwarder.connections - before <= 3
        assert listener.state == "auth_failed" and sim.logins == 0
    finally:
        await listener.stop()
        await forwarder.close()
    assert listener.state == "disconnected"


async def test_login_that_is_never_answered_becomes_auth_failed(config):
    async def silent(reader, writer):  # accepts TCP, never answers the Login
        await reader.read()
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    listener, _ = await start(with_changes(config, ami_port=port, login_timeout=0.2))
    try:
        await eventually(lambda: listener.state == "auth_failed", "state auth_failed")
        assert "no confirmó el inicio de sesión" in listener.last_error
    finally:
        await listener.stop()
        server.close()
        await server.wait_closed()


async def test_a_ping_answer_stuck_behind_a_flood_of_events_is_not_a_dead_link(listening, sim):
    """Asterisk answers a Ping after the events already queued for the session; while those
    keep arriving the connection is alive even if the answer is late."""
    listener, _ = listening
    sim.answer_pings = False
    flood_ends = asyncio.get_running_loop().time() + 4 * listener.config.ping_timeout
    while asyncio.get_running_loop().time() < flood_ends:
        await sim.send_raw(b"Event: VarSet\r\nChannel: PJSIP/6001-00000001\r\n"
                           b"Variable: NOISE\r\nValue: 1\r\nUniqueid: 1.1\r\n\r\n")
        await asyncio.sleep(listener.config.ping_timeout / 10)
    assert sim.logins == 1 and listener.stats.ping_timeouts == 0
    # once the PBX falls silent, the unanswered ping does mean a dead link
    await eventually(lambda: listener.stats.ping_timeouts >= 1, "a ping timeout after the flood")
