"""The AMI listener: one supervised AMI session at a time, feeding a sink.

Items put on the sink, in stream order: a plain ``dict[str, str]`` per AMI event, and a
``Resync`` after every successful login, holding the ``CoreShowChannel`` events of the answer.
The sink's ``put_nowait`` runs inside the read path: an ``asyncio.Queue`` for a consumer task, or
a synchronous consumer that handles each item on the spot (the service's, so that a backlog stays
as compact bytes in the socket instead of becoming millions of Python strings).
The listener owns reconnects (capped backoff with jitter), the ping watchdog and the login
watchdog; panoramisk only moves bytes (see ``telephony.ami.session``).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from common.backoff import backoff_delay
from telephony.ami.session import Session, to_event
from telephony.config import TelephonyConfig

log = logging.getLogger(__name__)

ListenerState = Literal["disconnected", "connecting", "connected", "auth_failed"]
CONNECT_TIMEOUT = 5.0
LOGOFF_TIMEOUT = 1.0
# A refused login waits as long as the 4th plain retry would, at least: a wrong secret must not
# knock on the PBX every half second.
AUTH_RETRY_OFFSET = 3
# What Asterisk answers to every action, Login included, while it stops or restarts (manager.c
# process_message): not a credentials problem, the PBX is going away and will be back.
SHUTTING_DOWN = "asterisk is shutting down"


@dataclass(frozen=True)
class Resync:
    """The channels alive right after a (re)login, for CallTracker.resync."""
    channels: list[dict[str, str]]


class AmiUnavailable(ConnectionError):
    """An action could not be written: the listener is not logged in to AMI now."""


class EventSink(Protocol):
    def put_nowait(self, item: dict[str, str] | Resync) -> None: ...


@dataclass
class ListenerStats:
    events: int = 0
    dropped_events: int = 0  # the sink refused them (a full queue, or a consumer that raised)
    reconnects: int = 0
    ping_timeouts: int = 0
    auth_failures: int = 0
    pbx_restarts: int = 0  # logins refused, or sessions ended, because Asterisk was stopping
    resyncs: int = 0
    oversized_frames: int = 0
    malformed_frames: int = 0
    logins: int = 0


class _Attempt:
    """What one connection attempt learnt, written by the session's synchronous hooks."""

    def __init__(self) -> None:
        self.logged_in = asyncio.Event()
        self.ended = asyncio.Event()  # lost, or login refused
        self.refusal: str | None = None
        self.lost_reason: str | None = None


@dataclass
class AmiListener:
    config: TelephonyConfig
    sink: EventSink
    retry_base: float = 0.5
    retry_cap: float = 30.0
    rand: random.Random = field(default_factory=random.Random)
    # called with the new state on every change (the dialer gives up its calls when AMI goes)
    on_state: Callable[[ListenerState], None] | None = None

    def __post_init__(self) -> None:
        self.state: ListenerState = "disconnected"
        self.last_error: str | None = None
        self.stats = ListenerStats()
        self._session: Session | None = None
        self._task: asyncio.Task | None = None
        self._stopping = asyncio.Event()
        self._resync_wanted = False

    # --- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._supervise(), name="ami-listener")

    async def stop(self) -> None:
        """Log off (best effort, bounded) and close; no reconnect afterwards."""
        self._stopping.set()
        session = self._session
        if session is not None and self.state == "connected":
            with contextlib.suppress(Exception):
                await asyncio.wait_for(session.send_action({"Action": "Logoff"}), LOGOFF_TIMEOUT)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._set_state("disconnected")

    @property
    def connected(self) -> bool:
        return self.state == "connected"

    def send_action(self, action: dict[str, Any]) -> asyncio.Future:
        """Writes an action on the live session now and returns the Future of its answer
        (await it under a timeout). Raises AmiUnavailable when not logged in."""
        session = self._session
        if session is None or self.state != "connected":
            raise AmiUnavailable(f"AMI no está conectado ({self.state}) "
                                 f"host={self.config.ami_host}:{self.config.ami_port}")
        return session.send_action(action)

    # --- the supervisor ---------------------------------------------------------------------
    async def _supervise(self) -> None:
        failures = 0
        first = True
        while not self._stopping.is_set():
            if not first:
                self.stats.reconnects += 1
            first = False
            outcome = await self._run_attempt()
            if outcome == "stopped":
                return
            if outcome == "served":
                failures = 0
            attempt = failures + (AUTH_RETRY_OFFSET if outcome == "refused" else 0)
            failures += 1
            delay = backoff_delay(attempt, base=self.retry_base, cap=self.retry_cap, rand=self.rand)
            log.info("AMI reconnect in %.2fs host=%s:%s", delay, self.config.ami_host, self.config.ami_port)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)

    async def _run_attempt(self) -> str:
        """One connection, from TCP connect to its end: 'failed' (no login: unreachable,
        dropped or timed out), 'refused' (credentials), 'served' (was logged in), 'stopped'."""
        if self.state != "auth_failed":
            self._set_state("connecting")
        attempt = _Attempt()
        session = self._new_session(attempt)
        self._session = session
        try:
            return await self._drive(session, attempt)
        finally:
            self._session = None
            session.close()
            if self.state == "connected":
                self._set_state("disconnected")

    async def _drive(self, session: Session, attempt: _Attempt) -> str:
        cfg = self.config
        try:
            await asyncio.wait_for(session.connect(), CONNECT_TIMEOUT)
        except (TimeoutError, OSError) as exc:
            self._fail(f"cannot connect to AMI {cfg.ami_host}:{cfg.ami_port}: {exc!r}")
            return "failed"
        if not await _first(attempt.logged_in, attempt.ended, timeout=cfg.login_timeout):
            return self._login_failed(attempt)
        self.stats.logins += 1
        self._set_state("connected")
        self.last_error = None
        log.info("AMI logged in user=%s host=%s:%s", cfg.ami_username, cfg.ami_host, cfg.ami_port)
        watchdog = asyncio.create_task(self._watchdog(session, attempt), name="ami-watchdog")
        try:
            await attempt.ended.wait()
        finally:
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog
        if self._stopping.is_set():  # our own Logoff
            return "stopped"
        self._fail(f"AMI connection lost: {attempt.lost_reason}")
        return "served"

    def _login_failed(self, attempt: _Attempt) -> str:
        cfg = self.config
        if attempt.refusal is not None and SHUTTING_DOWN in attempt.refusal.lower():
            self.stats.pbx_restarts += 1
            self._fail(f"Asterisk se está apagando o reiniciando ({attempt.refusal}); se vuelve a "
                       f"conectar en cuanto responda host={cfg.ami_host}:{cfg.ami_port}")
            return "failed"
        if attempt.refusal is not None or not attempt.ended.is_set():
            self.stats.auth_failures += 1
            if attempt.refusal is not None:
                what = f"AMI rechazó el usuario/secreto ({attempt.refusal})"
            else:
                what = f"AMI no confirmó el inicio de sesión en {cfg.login_timeout:g} s"
            self._set_state("auth_failed")
            self.last_error = (f"{what}: revise AMI_USERNAME, AMI_SECRET y permit/deny en "
                               f"manager.conf user={cfg.ami_username} host={cfg.ami_host}:{cfg.ami_port}")
            log.error("%s", self.last_error)
            return "refused"
        self._fail(f"AMI connection lost before login: {attempt.lost_reason}")
        return "failed"

    def _fail(self, reason: str) -> None:
        self.last_error = reason
        log.warning("%s", reason)

    def _set_state(self, state: ListenerState) -> None:
        if state != self.state:
            log.info("AMI state %s -> %s", self.state, state)
            self.state = state
            if self.on_state is not None:
                try:
                    self.on_state(state)
                except Exception:
                    log.exception("AMI state watcher failed")

    # --- per-session work -------------------------------------------------------------------
    def _new_session(self, attempt: _Attempt) -> Session:
        cfg = self.config

        def on_login() -> None:
            attempt.logged_in.set()

        def on_login_refused(response: Any) -> None:
            attempt.refusal = str(response.get("Message", "") or response.get("Response", ""))
            attempt.ended.set()

        def on_lost(exc: Any) -> None:
            if exc is None:
                attempt.lost_reason = "closed by peer"
            elif isinstance(exc, Mapping) and exc.get("Event") == "Shutdown":
                self.stats.pbx_restarts += 1
                attempt.lost_reason = (f"Asterisk se apagó (Shutdown: {exc.get('Shutdown', '')}, "
                                       f"Restart: {exc.get('Restart', '')})")
            else:
                attempt.lost_reason = repr(exc)[:200]
            attempt.ended.set()

        return Session(
            host=cfg.ami_host, port=cfg.ami_port, username=cfg.ami_username,
            secret=cfg.ami_secret, events=cfg.ami_events,
            on_event=self._on_event, on_login=on_login, on_login_refused=on_login_refused,
            on_lost=on_lost, on_list_complete=self._on_list_complete,
            on_frame_dropped=self._on_frame_dropped,
        )

    def _on_event(self, message: Any) -> None:
        """The one catch-all callback: it runs inside panoramisk's data_received, where any
        exception would drop the connection, so it never raises."""
        try:
            self.sink.put_nowait(to_event(message))
            self.stats.events += 1
        except Exception as exc:  # noqa: BLE001 - runs inside panoramisk's read path: never raise
            self.stats.dropped_events += 1
            self._resync_wanted = True
            # log the 1st, 2nd, 4th, 8th… drop: visible, without flooding the log
            if self.stats.dropped_events & (self.stats.dropped_events - 1) == 0:
                log.warning("AMI events dropped=%d (%r)", self.stats.dropped_events, exc)

    def _on_list_complete(self, action: str, messages: list[Any]) -> None:
        if action.lower() != "coreshowchannels":
            return
        channels = [to_event(m) for m in messages if m.get("Event") == "CoreShowChannel"]
        try:
            self.sink.put_nowait(Resync(channels))
            self.stats.resyncs += 1
        except Exception as exc:  # noqa: BLE001 - runs inside panoramisk's read path: never raise
            self._resync_wanted = True
            log.warning("AMI resync dropped channels=%d (%r)", len(channels), exc)

    def _on_frame_dropped(self, kind: str) -> None:
        if kind == "oversized":
            self.stats.oversized_frames += 1
        else:
            self.stats.malformed_frames += 1

    async def _resync(self, session: Session) -> None:
        """CoreShowChannels; the answer reaches the queue through _on_list_complete, in stream
        order. No answer in time → drop the connection and start again."""
        self._resync_wanted = False
        try:
            await asyncio.wait_for(session.send_action({"Action": "CoreShowChannels"}),
                                   self.config.login_timeout)
        except TimeoutError:
            self.last_error = "CoreShowChannels unanswered; reconnecting"
            log.warning("%s", self.last_error)
            session.abort()

    async def _watchdog(self, session: Session, attempt: _Attempt) -> None:
        """Resync once, then ping under a timeout; ends by aborting the connection."""
        cfg = self.config
        await self._resync(session)
        while not attempt.ended.is_set():
            await asyncio.sleep(cfg.ping_interval)
            try:
                await asyncio.wait_for(session.send_action({"Action": "Ping"}), cfg.ping_timeout)
            except TimeoutError:
                if session.seconds_since_data() < cfg.ping_timeout:
                    # the answer is queued behind a burst of events: the link is alive
                    continue
                self.stats.ping_timeouts += 1
                self.last_error = f"AMI ping unanswered within {cfg.ping_timeout}s"
                log.warning("%s host=%s:%s; reconnecting", self.last_error, cfg.ami_host, cfg.ami_port)
                session.abort()
                return
            if self._resync_wanted:
                await self._resync(session)


async def _first(wanted: asyncio.Event, other: asyncio.Event, *, timeout: float) -> bool:
    """Wait until `wanted` or `other` is set (or the timeout); True only if `wanted` is."""
    waiters = [asyncio.create_task(wanted.wait()), asyncio.create_task(other.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
    return wanted.is_set()
