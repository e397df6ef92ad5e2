"""The browser sockets held by this node, each with a bounded queue and its own writer task.

Delivering a message only queues it; a socket whose queue is full is closed (SLOW_CONSUMER)
instead of being waited on, so one stuck browser never delays the others.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from contextlib import suppress
from typing import Any

from aiohttp import web

from screenpop.push import protocol
from screenpop.push.protocol import CLOSE_GOING_AWAY, CLOSE_SESSION_ENDED, CLOSE_SLOW_CONSUMER
from screenpop.web.metrics import Metrics
from screenpop.web.sessions import fingerprint

log = logging.getLogger(__name__)

__all__ = ["CLOSE_GOING_AWAY", "CLOSE_SESSION_ENDED", "CLOSE_SLOW_CONSUMER", "AgentSocket", "Hub"]

QUEUE_SIZE = 100
PING_INTERVAL = 20.0
SEND_TIMEOUT = 10.0
CLOSE_TIMEOUT = 2.0
# Calls whose newest seq a socket remembers: enough to outlast a replay racing the live stream
# (an agent has a few calls at once), small enough that 1,000 sockets stay a few hundred kB.
_SEQS_KEPT = 32
WATCHER_ROLES = ("supervisor", "admin")


class AgentSocket:
    def __init__(self, ws: web.WebSocketResponse, request: web.Request, username: str,
                 session_id: str, metrics: Metrics, *, queue_size: int = QUEUE_SIZE,
                 ping_interval: float = PING_INTERVAL, role: str = "agent") -> None:
        self.ws = ws
        self.username = username
        self.role = role
        self.session_id = session_id
        self._request = request
        self._metrics = metrics
        self._queue: asyncio.Queue[tuple[str, bool]] = asyncio.Queue(queue_size)
        self._ping_interval = ping_interval
        self._seqs: dict[str, int] = {}
        self._writer: asyncio.Task | None = None
        self._closer: asyncio.Task | None = None
        self.closing = False

    def offer(self, message: dict[str, Any], text: str | None = None) -> bool:
        """Queue a message; False when the socket is closing or was just dropped as slow."""
        if self.closing:
            return False
        if message.get("type") == "pop" and not self._newest(message):
            return True
        try:
            self._queue.put_nowait((text or json.dumps(message), message.get("type") == "pop"))
        except asyncio.QueueFull:
            log.warning("dropping slow browser socket agent=%s", self.username)
            self._metrics.slow_dropped.inc()
            self.close_soon(CLOSE_SLOW_CONSUMER, "cola llena")
            return False
        return True

    def _newest(self, pop: dict[str, Any]) -> bool:
        """False for a pop older than one already sent for the same call (replay vs live race)."""
        call_id, seq = str(pop.get("call_id")), int(pop.get("seq") or 0)
        if seq < self._seqs.get(call_id, seq):
            return False
        self._seqs.pop(call_id, None)
        self._seqs[call_id] = seq
        if len(self._seqs) > _SEQS_KEPT:
            del self._seqs[next(iter(self._seqs))]
        return True

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write_loop(), name=f"ws-writer-{self.username}")

    async def _write_loop(self) -> None:
        ping = json.dumps(protocol.ping())
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a cancel that lands as
        # the queue hands over a message (often under uvloop), and close() then waits forever.
        while True:
            try:
                async with asyncio.timeout(self._ping_interval):
                    text, is_pop = await self._queue.get()
            except TimeoutError:
                text, is_pop = ping, False
            if is_pop:
                self._metrics.pops_sent.inc()
            try:
                async with asyncio.timeout(SEND_TIMEOUT):
                    await self.ws.send_str(text)
            except TimeoutError:
                log.warning("browser socket stalled, dropping agent=%s", self.username)
                self._metrics.slow_dropped.inc()
                self.close_soon(CLOSE_SLOW_CONSUMER, "envío bloqueado")
                return
            except ConnectionError:
                return

    def close_soon(self, code: int, reason: str) -> None:
        if self._closer is None:
            self.closing = True
            self._closer = asyncio.create_task(self.close(code, reason))

    async def close(self, code: int, reason: str) -> None:
        self.closing = True
        await self._stop_writer()
        if code == CLOSE_SLOW_CONSUMER:
            # A close frame would sit behind the backlog the browser is not reading, and a
            # graceful close waits for that backlog: the connection is cut instead (the browser
            # sees 1006; the server logs and counts SLOW_CONSUMER).
            self._abort()
            return
        try:
            await asyncio.wait_for(self.ws.close(code=code, message=reason.encode()), CLOSE_TIMEOUT)
        except (TimeoutError, ConnectionError):
            self._abort()

    def _abort(self) -> None:
        transport = self._request.transport
        if transport is not None:
            transport.abort()

    async def _stop_writer(self) -> None:
        writer = self._writer
        if writer is not None and writer is not asyncio.current_task():
            writer.cancel()
            with suppress(asyncio.CancelledError):
                await writer

    async def finish(self) -> None:
        """Stop everything this socket runs; called once by its handler on the way out."""
        self.closing = True
        await self._stop_writer()
        if self._closer is not None and self._closer is not asyncio.current_task():
            with suppress(asyncio.CancelledError):
                await self._closer


class Hub:
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._by_user: dict[str, set[AgentSocket]] = {}
        self._watchers: set[AgentSocket] = set()  # supervisors' sockets: every state change

    def add(self, sock: AgentSocket) -> None:
        self._by_user.setdefault(sock.username, set()).add(sock)
        if sock.role in WATCHER_ROLES:
            self._watchers.add(sock)
        self._metrics.sockets.inc()

    def remove(self, sock: AgentSocket) -> None:
        socks = self._by_user.get(sock.username)
        self._watchers.discard(sock)
        if socks and sock in socks:
            socks.discard(sock)
            self._metrics.sockets.dec()
            if not socks:
                del self._by_user[sock.username]

    def has(self, username: str) -> bool:
        return username in self._by_user

    def usernames(self) -> list[str]:
        return list(self._by_user)

    def sockets(self, username: str | None = None) -> Iterator[AgentSocket]:
        if username is not None:
            yield from list(self._by_user.get(username, ()))
            return
        for socks in list(self._by_user.values()):
            yield from list(socks)

    def deliver(self, username: str, message: dict[str, Any], text: str | None = None) -> int:
        socks = self._by_user.get(username)
        if not socks:
            return 0
        text = text or json.dumps(message)
        return sum(sock.offer(message, text) for sock in list(socks))

    def deliver_agent_state(self, message: dict[str, Any], text: str | None = None) -> int:
        """An agent's new state goes to the agent's own tabs and to every supervisor here."""
        text = text or json.dumps(message)
        owner = str(message.get("agent", {}).get("username"))
        targets = self._watchers.union(self._by_user.get(owner, ()))
        return sum(sock.offer(message, text) for sock in targets)

    def has_watchers(self) -> bool:
        return bool(self._watchers)

    def deliver_watchers(self, message: dict[str, Any], text: str | None = None) -> int:
        """A frame for supervisors and admins only (the live campaign view)."""
        text = text or json.dumps(message)
        return sum(sock.offer(message, text) for sock in list(self._watchers))

    def end_session(self, username: str, session_fingerprint: str) -> None:
        for sock in self.sockets(username):
            if fingerprint(sock.session_id) == session_fingerprint:
                sock.close_soon(CLOSE_SESSION_ENDED, "sesión cerrada")

    async def close_all(self, code: int = CLOSE_GOING_AWAY, reason: str = "servidor detenido") -> None:
        await asyncio.gather(*(sock.close(code, reason) for sock in self.sockets()),
                             return_exceptions=True)
