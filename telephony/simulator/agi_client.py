"""Asterisk's side of an IVR call's FastAGI step, so a simulated IVR call runs the real FastAGI
server (telephony.ivr): the environment block Asterisk 20.20.1 sends for
`AGI(agi://host:port/<script>)` and its answers (`200 result=1` to SET VARIABLE and VERBOSE, `510`
to anything else, `HANGUP` when the server half-closes), as recorded in shared/fixtures/agi/.

    .venv/bin/python -m telephony.simulator.agi_client --port 4573 --caller 5215512345678
prints AGISTATUS and the channel variables the server set, as the dialplan would see them.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass, field

OK = b"200 result=1\n"
INVALID = b"510 Invalid or unknown command\n"
HANGUP = b"HANGUP\n"


@dataclass
class AgiResult:
    status: str  # AGISTATUS: SUCCESS, or FAILURE when the server cannot be reached
    variables: dict[str, str] = field(default_factory=dict)


def environment(script: str, *, host: str, port: int, caller: str, caller_name: str = "",
                did: str = "5550001001", channel: str = "PJSIP/trunk-00000001",
                uniqueid: str = "1796155799.1") -> bytes:
    """The 24 lines in Asterisk 20's order (the extension is the IVR's `s`, after its Goto)."""
    lines = [
        ("network", "yes"), ("network_script", script),
        ("request", f"agi://{host}:{port}/{script}"), ("channel", channel), ("language", "es"),
        ("type", channel.split("/", 1)[0]), ("uniqueid", uniqueid), ("version", "20.20.1"),
        ("callerid", caller or "unknown"), ("calleridname", caller_name or "unknown"),
        ("callingpres", "0"), ("callingani2", "0"), ("callington", "0"), ("callingtns", "0"),
        ("dnid", did), ("rdnis", "unknown"), ("context", "ivr"), ("extension", "s"),
        ("priority", "12"), ("enhanced", "0.0"), ("accountcode", ""),
        ("threadid", "140337412806336"),
    ]
    return "".join(f"agi_{key}: {value}\n" for key, value in lines).encode() + b"\n"


def unquote(argument: str) -> str:
    """An AGI argument as Asterisk reads it: double quotes group, a backslash escapes."""
    out, escaped = [], False
    for char in argument:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char != '"':
            out.append(char)
    return "".join(out)


async def run_agi(host: str, port: int, script: str, *, caller: str, timeout: float = 5.0,
                  **env: str) -> AgiResult:
    """One AGI() step against the FastAGI server at host:port."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError):
        return AgiResult("FAILURE")  # what Asterisk does when the server is down
    result = AgiResult("SUCCESS")
    try:
        async with asyncio.timeout(timeout):
            writer.write(environment(script, host=host, port=port, caller=caller, **env))
            while line := await reader.readline():
                writer.write(answer(line.decode("utf-8", errors="replace").rstrip("\n"), result))
            writer.write(HANGUP)
            await writer.drain()
    except (OSError, TimeoutError):
        pass  # Asterisk goes on with whatever was set so far
    finally:
        writer.close()
    return result


def answer(command: str, result: AgiResult) -> bytes:
    words = command.split(" ", 2)
    if " ".join(words[:2]).upper() == "SET VARIABLE" and len(words) == 3 and " " in words[2]:
        name, value = words[2].split(" ", 1)
        result.variables[name] = unquote(value)
        return OK
    if words[0].upper() == "VERBOSE":
        return OK
    return INVALID


def main() -> None:
    parser = argparse.ArgumentParser(description="Play one IVR FastAGI step against a server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4573)
    parser.add_argument("--script", default="lookup?did=5550001001")
    parser.add_argument("--caller", required=True, help="caller ID number, as the trunk sends it")
    args = parser.parse_args()
    result = asyncio.run(run_agi(args.host, args.port, args.script, caller=args.caller))
    json.dump({"AGISTATUS": result.status, **result.variables}, sys.stdout, ensure_ascii=False)
    print()


if __name__ == "__main__":
    main()
