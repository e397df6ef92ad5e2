"""panoramisk 1.4, with its weak edges closed (see ami-and-panoramisk.md §0, §1, §1.1).

The only module that imports panoramisk. What is changed and why:

* Reading: the Manager is built with ``encoding='latin-1'`` so every byte becomes one character
  and nothing is dropped by panoramisk's per-chunk ``decode(errors='ignore')``; each value is
  decoded again from its bytes by ``to_event`` (UTF-8, else cp1252). A character split across two
  TCP reads is rejoined in panoramisk's buffer before it is decoded.
* panoramisk keeps an unterminated block in memory without bound and re-splits the whole buffer
  on every read, so a flood without a blank line grows it forever: ``GuardedProtocol`` drops a
  pending block once it passes ``MAX_MESSAGE_BYTES`` and skips to the next terminator.
* Any exception inside ``data_received`` makes asyncio close the connection and loses the rest of
  the chunk (a repeated ``Event:`` header turns the value into a list, and panoramisk then calls
  ``.lower()`` on it): each message is handled under its own try/except and counted.
* Reconnecting and pinging are taken away from panoramisk (fixed 2 s retry forever, pings
  without a timeout, and ``int()`` of the ping delay turns 0.5 s into a busy loop): ``Session``
  never reconnects by itself; ``telephony.ami.listener`` owns the retry loop and the watchdog.
* A list answer (``CoreShowChannels``) completes in the middle of a read; the events behind it in
  the same chunk are dispatched before any coroutine awaiting the answer runs again. To keep the
  resync in stream order, ``on_list_complete`` is called synchronously at the completing message.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol

from telephony.ami.frames import MAX_MESSAGE_BYTES, REPEAT_SEPARATOR, decode_value

log = logging.getLogger(__name__)

_TERMINATOR = "\r\n\r\n"


def to_event(message: Mapping[str, Any]) -> dict[str, str]:
    """A panoramisk Message → a plain dict of str. panoramisk 1.4 turns a repeated header
    (`ChanVariable: CAMPAIGN_ID=c7`, `ChanVariable: PREINST_ID=1001`) into a list; every value is
    kept, joined as ``frames.iter_messages`` does for recorded traces (see ``frames.values_of``)."""
    event = {}
    # Message is panoramisk 1.4's CaseInsensitiveDict: `_store` maps lower(key) → (key, value);
    # reading it directly is ~2× faster than .items() on the hot path.
    for key, value in message._store.values():
        if isinstance(value, list):
            value = REPEAT_SEPARATOR.join(value)
        event[key] = value if value.isascii() else decode_value(value.encode("latin-1"))
    event.pop("content", None)  # panoramisk's slot for a `Response: Follows` body
    return event


def wire_text(value: str) -> str:
    """Text we send → the str whose latin-1 encoding is its UTF-8 bytes (the Manager encodes
    outgoing actions with its reading encoding)."""
    return value.encode("utf-8").decode("latin-1")


class GuardedProtocol(AMIProtocol):
    max_block = MAX_MESSAGE_BYTES

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._skipping = False
        self._skip_tail = ""
        self.last_data_at = time.monotonic()

    def data_received(self, data: bytes) -> None:
        self.last_data_at = time.monotonic()
        if self._skipping:
            text = self._skip_tail + data.decode("latin-1")
            end = text.find(_TERMINATOR)
            if end < 0:
                self._skip_tail = text[-3:]
                return
            self._skipping = False
            data = text[end + len(_TERMINATOR):].encode("latin-1")
            if not data:
                return
        super().data_received(data)
        if self.queue and len(self.queue[0]) > self.max_block:
            self._skip_tail = self.queue.pop()[-3:]
            self.queue.clear()
            self._skipping = True
            self.factory.frame_dropped("oversized")

    def handle_message(self, message: Any) -> None:
        try:
            action = self.responses.get(message.id) if message.id else None
            super().handle_message(message)
            if action is not None and message.get("Event") == "OriginateResponse":
                # panoramisk hands an action's events to the action only; the dialer's attempt
                # tracker needs this one in stream order with the channel events around it
                self.factory.dispatch(message)
            if action is not None and action.future.done() and not action.future.cancelled():
                self.factory.action_completed(action)
        except Exception as exc:  # noqa: BLE001 - one bad message must not drop the link
            log.warning("AMI message skipped, panoramisk could not handle it (%r): %.200r",
                        exc, dict(message.items()))
            self.factory.frame_dropped("malformed")


class Session(Manager):
    """One AMI connection: connect once, log in, dispatch, and tell the owner when it ends.

    Hooks (all synchronous, called from the read path, must not raise):
    ``on_event(message)``, ``on_login()``, ``on_login_refused(message)``, ``on_lost(exc)``,
    ``on_list_complete(action_name, messages)``, ``on_frame_dropped(kind)``.
    """

    def __init__(self, *, host: str, port: int, username: str, secret: str, events: str,
                 on_event: Callable[[Any], None], on_login: Callable[[], None],
                 on_login_refused: Callable[[Any], None], on_lost: Callable[[Any], None],
                 on_list_complete: Callable[[str, list[Any]], None],
                 on_frame_dropped: Callable[[str], None]) -> None:
        super().__init__(
            host=host, port=port, username=wire_text(username), secret=wire_text(secret),
            events=events, encoding="latin-1", loop=asyncio.get_running_loop(),
            protocol_factory=GuardedProtocol,
            on_login=lambda _manager: on_login(),
            on_disconnect=lambda _manager, exc: on_lost(exc),
            on_connect=self._watch_login,
            # a Session never reconnects, but should an action ever be queued for a resend, an
            # Originate must not be: the dialer has already given up on it and freed its lead
            forgetable_actions=("ping", "login", "originate"),
        )
        self._on_login_refused = on_login_refused
        self._on_list_complete = on_list_complete
        self.frame_dropped = on_frame_dropped
        self.register_event("*", lambda _manager, message: on_event(message))

    def _watch_login(self, _manager: Manager) -> None:
        future = self.authenticated_future
        if future is not None:
            future.add_done_callback(self._login_answered)

    def _login_answered(self, future: asyncio.Future) -> None:
        if future.cancelled():
            return
        response = future.result()
        if not response.success:
            self._on_login_refused(response)

    # --- panoramisk overrides ---------------------------------------------------------------
    def connection_made(self, future: asyncio.Future) -> None:
        # A failed or cancelled connect is reported to whoever awaits connect(); panoramisk
        # would schedule its own endless retry here.
        if future.cancelled() or future.exception() is not None:
            return
        super().connection_made(future)

    def connection_lost(self, exc: Any) -> None:
        self._connected = False
        if self.pinger is not None:
            self.pinger.cancel()
            self.pinger = None
        self.on_disconnect(self, exc)

    def ping(self) -> None:
        """panoramisk's fire-and-forget ping is replaced by the listener's watchdog."""

    def action_completed(self, action: Any) -> None:
        result = action.future.result()
        if isinstance(result, list):
            self._on_list_complete(str(action.get("Action", "")), result)

    # --- used by the listener ---------------------------------------------------------------
    def seconds_since_data(self) -> float:
        """How long the PBX has sent nothing at all (infinite when not connected)."""
        protocol = self.protocol
        if protocol is None:
            return float("inf")
        return time.monotonic() - getattr(protocol, "last_data_at", float("-inf"))

    def abort(self) -> None:
        """Drop the TCP connection at once (no FIN handshake); ``on_lost`` follows."""
        protocol = self.protocol
        if protocol is not None and getattr(protocol, "transport", None) is not None:
            protocol.transport.abort()
