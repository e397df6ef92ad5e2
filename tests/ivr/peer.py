"""Asterisk's side of a FastAGI dialogue, played over TCP from the recorded Asterisk 20.20.1
dialogues in dialogues/: the environment block byte for byte, and Asterisk's answers as recorded.
"""
from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from telephony.simulator.agi_client import unquote

DIALOGUES = Path(__file__).resolve().parent / "dialogues"


def chunks(name: str) -> list[dict]:
    lines = (DIALOGUES / f"{name}.agi.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line]


def recorded_env(name: str = "happy-path") -> list[bytes]:
    """The chunks Asterisk sent before the first command: the environment block."""
    env = []
    for chunk in chunks(name):
        if chunk["dir"] == "A>":
            env.append(chunk["data"].encode())
            if chunk["data"].endswith("\n\n"):
                return env
    raise AssertionError(f"{name}: no complete environment block")


def recorded_answer(name: str, command: str) -> list[bytes]:
    """What Asterisk sent between a command of the recording and the next thing the server did."""
    recorded = chunks(name)
    for index, chunk in enumerate(recorded):
        if chunk["dir"] == "S>" and chunk["data"] == command + "\n":
            answer = []
            for after in recorded[index + 1:]:
                if after["dir"] != "A>":
                    break
                answer.append(after["data"].encode())
            return answer
    raise AssertionError(f"{name}: command {command!r} not recorded")


def unsolicited_hangup() -> bytes:
    """The HANGUP line Asterisk sent on its own when the caller hung up mid-request."""
    recorded = chunks("caller-hangup")
    for before, chunk in zip(recorded, recorded[1:]):
        if chunk["dir"] == "A>" and chunk["data"] == "HANGUP\n" and before["dir"] == "--":
            return chunk["data"].encode()
    raise AssertionError("caller-hangup: no unsolicited HANGUP")


OK = recorded_answer("happy-path", 'SET VARIABLE SP_MATCH "one"')
DEAD_CHANNEL = recorded_answer("caller-hangup", 'STREAM FILE vm-goodbye ""')
SET_AFTER_HANGUP = recorded_answer("caller-hangup", 'SET VARIABLE SP_MATCH "after-hangup"')
INVALID = recorded_answer("invalid-command", "FOO BAR")
USAGE = recorded_answer("invalid-command", "SET VARIABLE ONLYNAME")
HANGUP = unsolicited_hangup()


def with_env(env: list[bytes], **values: str | None) -> list[bytes]:
    """The recorded environment with some agi_* values changed (None: the line removed)."""
    text = b"".join(env).decode()
    for key, value in values.items():
        pattern = re.compile(rf"^agi_{key}: .*\n", re.MULTILINE)
        assert pattern.search(text), key
        text = pattern.sub("" if value is None else f"agi_{key}: {value}\n", text)
    return [text.encode()]


Answer = Callable[[int, str], list[bytes] | None]


@dataclass
class Transcript:
    commands: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    server_closed: bool = False


class AsteriskSide:
    """Connects to the FastAGI server, sends `env` (plus `after_env`, e.g. an unsolicited
    HANGUP), answers each command as Asterisk 20.20.1 did, or as `answer(n, command)` says when it
    returns chunks; when the server half-closes it sends HANGUP and closes, as Asterisk does."""

    def __init__(self, port: int, env: list[bytes] | None = None, *, after_env: bytes = b"",
                 answer: Answer | None = None, hung_up: bool = False) -> None:
        self.port = port
        self.env = recorded_env() if env is None else env
        self.after_env = after_env
        self.answer = answer
        self.hung_up = hung_up or HANGUP in after_env
        self.transcript = Transcript()

    async def run(self, timeout: float = 10.0) -> Transcript:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            try:
                for chunk in self.env:
                    writer.write(chunk)
                writer.write(self.after_env)
                await writer.drain()
                await self._answer_until_closed(reader, writer)
            finally:
                writer.close()
        return self.transcript

    async def _answer_until_closed(self, reader, writer) -> None:
        while True:
            line = await reader.readline()
            if not line:
                self.transcript.server_closed = True
                writer.write(HANGUP)
                await writer.drain()
                return
            command = line.decode().rstrip("\n")
            self.transcript.commands.append(command)
            reply = self.answer(len(self.transcript.commands), command) if self.answer else None
            for chunk in self._default(command) if reply is None else reply:
                writer.write(chunk)
                await writer.drain()

    def _default(self, command: str) -> list[bytes]:
        words = command.split(" ", 2)
        verb = " ".join(words[:2]).upper()
        if verb == "SET VARIABLE":
            if len(words) < 3 or " " not in words[2]:
                return USAGE
            name, value = words[2].split(" ", 1)
            self.transcript.variables[name] = unquote(value)
            return SET_AFTER_HANGUP if self.hung_up else OK
        if words[0].upper() == "VERBOSE":
            return OK
        if verb == "STREAM FILE" and self.hung_up:
            return DEAD_CHANNEL
        return INVALID
