"""The FastAGI protocol as Asterisk 20 speaks it, as pure functions (no I/O).

Facts from the recorded dialogues (tests/ivr/dialogues/, shared/fixtures/agi/README.md):
- Asterisk opens with an environment block of `agi_key: value\\n` lines ended by an empty line;
  `agi_network_script` is the script path *with its query string* (`lookup?did=…&lang=es`).
- Lines end in a bare `\\n`.
- An answer is `200 result=N [(data)] [endpos=N]`, `510 Invalid or unknown command`, `511 Command
  Not Permitted on a dead channel or intercept routine`, or a `520-…` usage block that runs up to
  its `520 End of proper usage.` line.
- A bare `HANGUP` line arrives on its own when the caller hangs up (and once more when the AGI
  ends): it is not the answer to any command.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs

HANGUP_LINE = "HANGUP"
MAX_ENV_BYTES = 16 * 1024
_REPLY = re.compile(r"(\d{3})([ -])(.*)")
_RESULT = re.compile(r"result=(\S*)(?:\s+\((.*)\))?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ENV_KEY = re.compile(r"agi_\w+")
_VARIABLE_NAME = re.compile(r"[A-Za-z_][\w()]*")


class AgiProtocolError(ValueError):
    """Bytes from the peer that are not FastAGI."""


@dataclass(frozen=True)
class Reply:
    code: int
    result: str = ""
    data: str = ""
    text: str = ""

    @property
    def ok(self) -> bool:
        return self.code == 200

    @property
    def dead_channel(self) -> bool:
        return self.code == 511


@dataclass(frozen=True)
class Script:
    """What `agi://host:port/<name>?<query>` asked for."""
    name: str
    query: dict[str, str]


def parse_env(block: bytes) -> dict[str, str]:
    """The environment block (without its empty last line) → agi_* variables. Lines that are not
    `agi_name: value` are garbage and rejected; an empty value (`agi_accountcode: `) is kept."""
    env: dict[str, str] = {}
    for line in block.decode("utf-8", errors="replace").split("\n"):
        key, sep, value = line.partition(": ")
        if not sep:
            key, sep, value = line.partition(":")  # `agi_accountcode:` with its space trimmed
        if not sep or not _ENV_KEY.fullmatch(key):
            if not line.strip():
                continue
            raise AgiProtocolError(f"not an AGI environment line: {line[:80]!r}")
        env[key] = value.rstrip("\r")
    return env


def parse_script(network_script: str) -> Script:
    """`lookup?did=5550002001&lang=es` → Script('lookup', {'did': '5550002001', 'lang': 'es'}).
    Routes are the part before `?`, without surrounding slashes."""
    path, _, query = network_script.partition("?")
    values = {key: found[0] for key, found in parse_qs(query, keep_blank_values=True).items()}
    return Script(path.strip("/"), values)


def parse_reply(line: str) -> Reply:
    """One answer line (a `520-` block arrives joined by the reader: first line + the rest)."""
    match = _REPLY.fullmatch(line)
    if match is None:
        raise AgiProtocolError(f"not an AGI answer: {line[:80]!r}")
    code, text = int(match.group(1)), match.group(3)
    if code != 200:
        return Reply(code, text=text)
    result = _RESULT.match(text)
    if result is None:
        raise AgiProtocolError(f"200 answer without result=: {line[:80]!r}")
    return Reply(code, result.group(1), result.group(2) or "", text)


def starts_usage_block(line: str) -> bool:
    return line.startswith("520-")


def ends_usage_block(line: str) -> bool:
    return line.startswith("520 ")


def quote(value: str) -> str:
    """A value for `SET VARIABLE NAME "value"`: control characters (a newline would end the
    command and start another) dropped, backslash and double quote escaped."""
    cleaned = _CONTROL.sub("", value)
    return '"' + cleaned.replace("\\", "\\\\").replace('"', '\\"') + '"'


def set_variable(name: str, value: str) -> str:
    if not _VARIABLE_NAME.fullmatch(name):
        raise ValueError(f"not a channel variable name: {name!r}")
    return f"SET VARIABLE {name} {quote(value)}"


def verbose(message: str, level: int = 1) -> str:
    return f"VERBOSE {quote(message)} {level}"
