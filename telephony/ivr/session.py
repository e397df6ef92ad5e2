"""One FastAGI connection: the environment Asterisk sent and the command/answer exchange.

Where panoramisk 1.4's `fast_agi.Request.send_command` goes wrong on real Asterisk 20 answers
(shared/fixtures/agi/panoramisk-1.4-replay.txt), this reads them as they come: a `520-` usage
block is read to its end line, an unsolicited `HANGUP` line is noted and skipped instead of being
taken for the next answer, and every command has a deadline (panoramisk has none; neither has
Asterisk, which waits forever for a silent server).
"""
from __future__ import annotations

import asyncio
import logging

from telephony.ivr.protocol import (
    HANGUP_LINE,
    MAX_ENV_BYTES,
    AgiProtocolError,
    Reply,
    Script,
    ends_usage_block,
    parse_reply,
    set_variable,
    starts_usage_block,
    verbose,
)

log = logging.getLogger(__name__)


class AgiClosed(ConnectionError):
    """Asterisk closed the connection (or it broke) before answering."""


class AgiTimeout(TimeoutError):
    """Asterisk did not answer a command within the session's command timeout."""


class AgiSession:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 env: dict[str, str], script: Script, *, command_timeout: float) -> None:
        self.env = env
        self.script = script
        self.hung_up = False
        self._reader = reader
        self._writer = writer
        self._command_timeout = command_timeout

    @property
    def channel(self) -> str:
        return self.env.get("agi_channel", "?")

    async def command(self, text: str) -> Reply:
        try:
            self._writer.write(text.encode("utf-8") + b"\n")
            async with asyncio.timeout(self._command_timeout):
                await self._writer.drain()
                reply = await self._read_reply()
        except TimeoutError:
            raise AgiTimeout(f"no answer to {text.split(' ', 2)[:2]} in "
                             f"{self._command_timeout:.1f} s") from None
        except (ConnectionError, OSError) as exc:
            raise AgiClosed(f"connection lost: {exc}") from exc
        if reply.dead_channel:
            self.hung_up = True
        return reply

    async def set_variable(self, name: str, value: str) -> Reply:
        return await self.command(set_variable(name, value))

    async def verbose(self, message: str) -> Reply:
        return await self.command(verbose(message))

    async def _read_reply(self) -> Reply:
        while True:
            line = await self._read_line()
            if line == HANGUP_LINE:
                if not self.hung_up:
                    log.info("agi caller hung up channel=%s", self.channel)
                self.hung_up = True
                continue
            if starts_usage_block(line):
                usage = [line]
                while not ends_usage_block(usage[-1]):
                    usage.append(await self._read_line())
                return Reply(520, text="\n".join(usage))
            return parse_reply(line)

    async def _read_line(self) -> str:
        try:
            raw = await self._reader.readuntil(b"\n")
        except asyncio.IncompleteReadError:
            raise AgiClosed("Asterisk closed the connection") from None
        except asyncio.LimitOverrunError:
            raise AgiProtocolError(f"answer line longer than {MAX_ENV_BYTES} bytes") from None
        return raw[:-1].decode("utf-8", errors="replace").rstrip("\r")
