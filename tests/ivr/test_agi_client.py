"""The simulator's FastAGI client (Asterisk's side of an IVR call) against the real server: the
variables the dialplan would see, and AGISTATUS=FAILURE when the server is down."""
from __future__ import annotations

import asyncio

from telephony.ivr.protocol import parse_env
from telephony.simulator.agi_client import environment, run_agi
from tests.ivr.conftest import preinstallation
from tests.ivr.peer import recorded_env


def test_the_environment_has_asterisks_lines_in_asterisks_order():
    ours = parse_env(environment("lookup?did=1", host="127.0.0.1", port=4573,
                                 caller="5215512345678")[:-2])
    recorded = parse_env(b"".join(recorded_env())[:-2])
    assert list(ours) == [key for key in recorded if not key.startswith("agi_arg_")]


async def test_a_simulated_ivr_call_gets_the_lookup_variables(ivr, index):
    await index.replace_all([preinstallation("1001", "Juan Pérez")], "test")
    result = await run_agi("127.0.0.1", ivr.port, "lookup?did=5550001001", caller="5215512345678")
    assert result.status == "SUCCESS"
    assert result.variables["SP_MATCH"] == "one"
    assert result.variables["CALLERID(name)"] == "Juan Pérez"


async def test_a_server_that_is_down_is_agistatus_failure():
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    result = await run_agi("127.0.0.1", port, "lookup", caller="5215512345678")
    assert (result.status, result.variables) == ("FAILURE", {})
