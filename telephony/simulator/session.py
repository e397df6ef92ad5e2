"""One AMI client connection, answering actions the way Asterisk 20 does in the recorded traces."""
from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from telephony.ami.frames import FrameReader, encode, parse_block
from telephony.simulator.originate import OriginateRequest, parse_originate

if TYPE_CHECKING:
    from telephony.simulator.server import PbxSimulator

log = logging.getLogger(__name__)

BANNER = b"Asterisk Call Manager/9.0.0\r\n"
READ_CHUNK = 65536
# Actions Asterisk accepts before authentication (manager.c process_message).
UNAUTHENTICATED_ACTIONS = frozenset({"login", "challenge", "logoff"})
ON_WORDS = frozenset({"on", "yes", "true", "1"})
OFF_WORDS = frozenset({"off", "no", "false", "0"})

Pairs = list[tuple[str, str]]


def event_mask(value: str | None) -> frozenset[str] | None:
    """Login/Events `EventMask` → the set of classes to send (None = every class)."""
    text = (value or "on").strip().lower()
    if text in ON_WORDS:
        return None
    if text in OFF_WORDS:
        return frozenset()
    return frozenset(c.strip() for c in text.split(",") if c.strip())


class AmiSession:
    def __init__(self, sim: PbxSimulator, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self._sim = sim
        self._reader = reader
        self._writer = writer
        self.authenticated = False
        self.mask: frozenset[str] | None = frozenset()
        self._challenge: str | None = None
        self._closing = False
        self._handlers: dict[str, Callable[[dict[str, str], dict[str, list[str]]],
                                           Awaitable[None]]] = {
            "login": self._login, "challenge": self._challenge_action, "logoff": self._logoff,
            "ping": self._ping, "events": self._events, "coreshowchannels": self._core_show,
            "originate": self._originate, "hangup": self._hangup, "status": self._status,
        }

    def wants(self, classes: frozenset[str]) -> bool:
        return self.authenticated and (self.mask is None or not self.mask.isdisjoint(classes))

    def send(self, data: bytes) -> None:
        """Write without waiting; a client that stops reading is dropped, as Asterisk does
        after its write timeout."""
        transport = self._writer.transport
        if transport.is_closing():
            return
        if transport.get_write_buffer_size() > self._sim.max_write_buffer:
            log.warning("dropping an AMI client that does not read")
            transport.abort()
            return
        transport.write(data)

    def abort(self) -> None:
        self._writer.transport.abort()

    async def run(self) -> None:
        frames = FrameReader()
        self.send(BANNER)
        try:
            while not self._closing:
                data = await self._reader.read(READ_CHUNK)
                if not data:
                    break
                for block in frames.feed(data):
                    headers, repeated = parse_block(block)
                    await self._dispatch(headers, repeated)
                    if self._closing:
                        break
        except ConnectionError:
            pass
        finally:
            self._writer.close()

    def _reply(self, headers: dict[str, str], pairs: Pairs) -> None:
        out = [pairs[0]]
        if "ActionID" in headers:
            out.append(("ActionID", headers["ActionID"]))
        self.send(encode(out + pairs[1:]))

    def _error(self, headers: dict[str, str], message: str) -> None:
        self._reply(headers, [("Response", "Error"), ("Message", message)])

    async def _dispatch(self, headers: dict[str, str], repeated: dict[str, list[str]]) -> None:
        action = headers.get("Action", "").strip().lower()
        if not action:
            self._error(headers, "Missing action in request")
            return
        if self._sim.shutting_down:
            # manager.c process_message: every action, Login included, while Asterisk stops or
            # restarts; no delay, and the connection stays open
            self._error(headers, "Asterisk is shutting down")
            return
        if not self.authenticated and action not in UNAUTHENTICATED_ACTIONS:
            self._error(headers, "Permission denied")
            return
        handler = self._handlers.get(action)
        if handler is None:
            self._error(headers, "Invalid/unknown command")
            return
        await handler(headers, repeated)

    async def _login(self, headers: dict[str, str], _: dict[str, list[str]]) -> None:
        sim = self._sim
        ok = headers.get("Username") == sim.username
        if headers.get("AuthType", "").lower() == "md5":
            expected = hashlib.md5(((self._challenge or "") + sim.secret).encode()).hexdigest()
            ok = ok and self._challenge is not None and headers.get("Key", "").lower() == expected
        else:
            ok = ok and headers.get("Secret") == sim.secret
        if not ok:
            await asyncio.sleep(sim.login_failure_delay)
            self._error(headers, "Authentication failed")
            self._closing = True
            return
        self.mask = event_mask(headers.get("Events"))
        self.authenticated = True
        sim.logins += 1
        self._reply(headers, [("Response", "Success"), ("Message", "Authentication accepted")])
        if self.wants(frozenset({"system"})):
            uptime = str(int(time.monotonic() - sim.started_at))
            self.send(encode([("Event", "FullyBooted"), ("Privilege", "system,all"),
                              ("Uptime", uptime), ("LastReload", uptime),
                              ("Status", "Fully Booted")]))

    async def _challenge_action(self, headers: dict[str, str], _: dict[str, list[str]]) -> None:
        if headers.get("AuthType", "").lower() != "md5":
            self._error(headers, "Must specify AuthType")
            return
        self._challenge = str(secrets.randbelow(10**9))
        self._reply(headers, [("Response", "Success"), ("Challenge", self._challenge)])

    async def _logoff(self, headers: dict[str, str], _: dict[str, list[str]]) -> None:
        self._reply(headers, [("Response", "Goodbye"), ("Message", "Thanks for all the fish.")])
        self._closing = True

    async def _ping(self, headers: dict[str, str], _: dict[str, list[str]]) -> None:
        if self._sim.answer_pings:
            self._reply(headers, [("Response", "Success"), ("Ping", "Pong"),
                                  ("Timestamp", f"{time.time():.6f}")])

    async def _events(self, headers: dict[str, str], _: dict[str, list[str]]) -> None:
        self.mask = event_mask(headers.get("EventMask"))
        state = "Off" if self.mask == frozenset() else "On"
        self._reply(headers, [("Response", "Success"), ("Events", state)])

    def _list(self, headers: dict[str, str], what: str, complete: str, items: list[Pairs]) -> None:
        self._reply(headers, [("Response", "Success"), ("EventList", "start"),
                              ("Message", f"{what} will follow")])
        chunks = [encode(item) for item in items]
        tail: Pairs = [("Event", complete)]
        if "ActionID" in headers:
            tail.append(("ActionID", headers["ActionID"]))
        tail += [("EventList", "Complete"), ("ListItems", str(len(items)))]
        chunks.append(encode(tail))
        self.send(b"".join(chunks))

    async def _core_show(self, headers: dict[str, str], _: dict[str, list[str]]) -> None:
        table, now = self._sim.table, time.monotonic()
        items = [table.core_show_channel(ch, now=now, action_id=headers.get("ActionID"))
                 for ch in table.channels()]
        self._list(headers, "Channels", "CoreShowChannelsComplete", items)

    async def _status(self, headers: dict[str, str], _: dict[str, list[str]]) -> None:
        table, now = self._sim.table, time.monotonic()
        items = []
        for ch in table.channels():
            if headers.get("Channel") and ch.snapshot["Channel"] != headers["Channel"]:
                continue
            pairs: Pairs = [("Event", "Status"), ("Privilege", "Call")]
            pairs += list(ch.snapshot.items())
            pairs += [("BridgeID", ch.bridge_id), ("Application", ch.application),
                      ("Data", ch.application_data), ("Seconds", str(int(now - ch.created)))]
            if "ActionID" in headers:
                pairs.append(("ActionID", headers["ActionID"]))
            items.append(pairs)
        self._list(headers, "Channel status", "StatusComplete", items)

    async def _originate(self, headers: dict[str, str], repeated: dict[str, list[str]]) -> None:
        request = parse_originate(headers, repeated)
        if not request.channel:
            self._error(headers, "Channel not specified")
            return
        scenario = request.variable("SIMULATOR_SCENARIO")
        if request.order is None or scenario:
            await self._play_scenario(headers, request, scenario or "dialer_agent_first")
            return
        if request.is_async:
            self._reply(headers, [("Response", "Success"),
                                  ("Message", "Originate successfully queued")])
        try:
            call = await self._sim.originate(request)
        except ValueError as exc:
            log.warning("Originate could not be simulated: %s", exc)
            if not request.is_async:
                self._error(headers, "Originate failed")
            return
        if not request.is_async:
            # manager.c waits for the channel to answer or fail before it answers the action
            if await call.response:
                self._reply(headers, [("Response", "Success"),
                                      ("Message", "Originate successfully queued")])
            else:
                self._error(headers, "Originate failed")

    async def _play_scenario(self, headers: dict[str, str], request: OriginateRequest,
                             scenario: str) -> None:
        """An Originate outside the dialer's contexts (or naming SIMULATOR_SCENARIO) plays one
        of the parent-folder scenarios."""
        self._reply(headers, [("Response", "Success"),
                              ("Message", "Originate successfully queued")])
        params = {"customer": request.exten, "action_id": request.action_id or ""}
        if request.caller_name:
            params["name"] = request.caller_name
        if request.caller_number:
            params["did"] = request.caller_number
        try:
            await self._sim.start_call(scenario, agents=[request.channel],
                                       channel_id=request.channel_id,
                                       speed=self._sim.default_speed,
                                       variables={k: v for k, v in request.variables
                                                  if k != "SIMULATOR_SCENARIO"}, **params)
        except ValueError as exc:
            log.warning("Originate could not be simulated: %s", exc)

    async def _hangup(self, headers: dict[str, str], _: dict[str, list[str]]) -> None:
        call_id = self._sim.table.owner_of_channel(headers.get("Channel", ""))
        if call_id is None:
            self._error(headers, "No such channel")
            return
        self._reply(headers, [("Response", "Success"), ("Message", "Channel Hungup")])
        await self._sim.hangup(call_id)
