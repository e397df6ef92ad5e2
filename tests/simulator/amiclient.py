"""A bare AMI client for the simulator tests: raw TCP, our own framing, nothing else."""
from __future__ import annotations

import asyncio

from telephony.ami.frames import FrameReader, encode, parse_block

TIMEOUT = 10.0


class RawAmi:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._frames = FrameReader()
        self._pending: list[dict[str, str]] = []
        self.banner = b""

    @classmethod
    async def connect(cls, port: int) -> RawAmi:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port),
                                                TIMEOUT)
        client = cls(reader, writer)
        client.banner = await asyncio.wait_for(reader.readline(), TIMEOUT)
        return client

    def send(self, **headers: str) -> None:
        self.writer.write(encode(list(headers.items())))

    async def next(self) -> dict[str, str]:
        """The next message; raises EOFError when the server closed the connection."""
        while not self._pending:
            data = await asyncio.wait_for(self.reader.read(65536), TIMEOUT)
            if not data:
                raise EOFError
            self._pending.extend(parse_block(b)[0] for b in self._frames.feed(data))
        return self._pending.pop(0)

    async def until(self, predicate) -> list[dict[str, str]]:
        """Messages up to and including the first one matching `predicate`."""
        seen = []
        while True:
            msg = await self.next()
            seen.append(msg)
            if predicate(msg):
                return seen

    async def closed(self) -> bool:
        """True once the server has closed (or reset) the connection, after draining."""
        try:
            while True:
                await self.next()
        except (EOFError, ConnectionError):
            await self.close()
            return True

    async def login(self, username: str = "screenpop", secret: str = "screenpop-demo",
                    events: str = "on") -> dict[str, str]:
        self.send(Action="Login", Username=username, Secret=secret, Events=events,
                  ActionID="login")
        return await self.next()

    async def close(self) -> None:
        self.writer.close()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), TIMEOUT)
        except (ConnectionError, TimeoutError):
            pass
