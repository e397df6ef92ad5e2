"""The FastAGI server: panoramisk's `fast_agi.Application` route table, with a connection handler
that survives what Asterisk and the network really do.

panoramisk 1.4's own handler, and what this one does instead:
- it reads the environment with `while b'\\n\\n' not in buffer: buffer += await reader.read(100)`,
  which spins forever once the peer closes early (read() returns b'' at EOF): here the block is
  read with readuntil, bounded in size and time, and EOF ends the connection;
- it looks routes up by the exact `agi_network_script`, query string included, so
  `agi://host/lookup?did=…` matches no `lookup` route: here the route is the path before `?`,
  and the query is handed to the script;
- `add_route` wraps a plain function with `asyncio.coroutine`, which Python 3.11 no longer has:
  here only `async def` handlers are accepted, with a clear error at start-up;
- it has no deadline for Asterisk's answers: every command here has one (see session.py).
A bad request (unknown script, no script name, garbage, a peer that vanishes) gets a log line
and, when the peer is still there, a VERBOSE line in Asterisk's log; then the connection closes.
"""
from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator

from panoramisk.fast_agi import Application
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from telephony.ivr.protocol import MAX_ENV_BYTES, AgiProtocolError, parse_env, parse_script
from telephony.ivr.session import AgiClosed, AgiSession, AgiTimeout

log = logging.getLogger(__name__)

Handler = Callable[[AgiSession], Awaitable[None]]
# connections Asterisk may open at once (a burst of calls entering the IVR) before any is accepted
BACKLOG = 1024


class FastAgiServer(Application):
    def __init__(self, *, env_timeout: float = 5.0, command_timeout: float = 2.0,
                 close_timeout: float = 1.0) -> None:
        super().__init__(loop=asyncio.get_running_loop())
        self._env_timeout = env_timeout
        self._command_timeout = command_timeout
        self._close_timeout = close_timeout
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task] = set()
        self.outcomes: Counter[str] = Counter()  # how each connection ended
        self.port: int | None = None

    def add_route(self, path: str, endpoint: Handler) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            raise TypeError(f"FastAGI route {path!r}: the handler must be an `async def` "
                            f"function, got {endpoint!r}")
        super().add_route(path.strip("/"), endpoint)

    @property
    def active(self) -> int:
        """Connections being served right now."""
        return len(self._connections)

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self.handler, host, port, limit=MAX_ENV_BYTES,
                                                  backlog=BACKLOG)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("fastagi listening on %s:%s routes=%s", host, self.port, ",".join(self._route))

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def handler(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._connections.add(task)
        peer = writer.get_extra_info("peername")
        outcome = "cancelled"
        # A cancellation here comes from stop() and ends this connection only: asyncio's
        # start_server logs a connection task that ends cancelled as an error, so it stops here.
        try:
            outcome = await self._serve(reader, writer, peer)
            await self._close(reader, writer)
        except asyncio.CancelledError:
            pass
        except Exception:
            outcome = "handler_error"
            log.exception("fastagi request from %s failed", peer)
        finally:
            self.outcomes[outcome] += 1
            self._connections.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     peer) -> str:
        try:
            async with asyncio.timeout(self._env_timeout):
                block = await reader.readuntil(b"\n\n")
            env = parse_env(block[:-2])
        except asyncio.IncompleteReadError as exc:
            log.warning("fastagi peer %s closed before the end of its environment (%d bytes)",
                        peer, len(exc.partial))
            return "closed_early"
        except TimeoutError:
            log.warning("fastagi peer %s sent no complete environment in %.0f s", peer,
                        self._env_timeout)
            return "env_timeout"
        except (asyncio.LimitOverrunError, AgiProtocolError) as exc:
            log.warning("fastagi peer %s sent garbage instead of an environment: %s", peer, exc)
            return "garbage"
        except (ConnectionError, OSError) as exc:
            log.warning("fastagi peer %s: connection lost: %s", peer, exc)
            return "closed_early"
        script = parse_script(env.get("agi_network_script", ""))
        session = AgiSession(reader, writer, env, script, command_timeout=self._command_timeout)
        route = self._route.get(script.name)
        try:
            if route is None:
                reason = ("no agi_network_script" if "agi_network_script" not in env
                          else f"unknown FastAGI script {script.name!r}")
                log.warning("fastagi %s from %s channel=%s", reason, peer, session.channel)
                await session.verbose(f"screenpop: {reason}")
                return "unknown_script"
            await route(session)
            return "hangup" if session.hung_up else "ok"
        except AgiClosed as exc:
            log.warning("fastagi %s channel=%s: %s", script.name, session.channel, exc)
            return "closed_early"
        except AgiTimeout as exc:
            log.warning("fastagi %s channel=%s: %s", script.name, session.channel, exc)
            return "command_timeout"
        except AgiProtocolError as exc:
            log.warning("fastagi %s channel=%s: %s", script.name, session.channel, exc)
            return "garbage"

    async def _close(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Half-close and let Asterisk send its closing HANGUP and close its side, so the
        connection ends with FIN on both sides instead of a reset."""
        with contextlib.suppress(TimeoutError, ConnectionError, OSError, RuntimeError):
            if writer.can_write_eof() and not writer.is_closing():
                writer.write_eof()
            async with asyncio.timeout(self._close_timeout):
                while await reader.read(4096):
                    pass

    def collect(self) -> Iterator[Metric]:
        ended = CounterMetricFamily("telephony_agi_connections", "FastAGI connections, by how "
                                    "they ended", labels=["outcome"])
        for outcome, count in sorted(self.outcomes.items()):
            ended.add_metric([outcome], count)
        yield ended
        yield GaugeMetricFamily("telephony_agi_active", "FastAGI connections being served",
                                value=self.active)
