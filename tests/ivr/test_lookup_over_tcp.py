"""The FastAGI `lookup` script over TCP, with Asterisk's side played from recorded Asterisk 20
dialogues: the variables the dialplan reads afterwards, for one match, several, none, a slow or
absent index, a caller who hangs up mid-request, a connection closed early and garbage."""
from __future__ import annotations

import asyncio

from tests.ivr.conftest import CALLER, preinstallation, settled
from tests.ivr.peer import (
    HANGUP,
    USAGE,
    AsteriskSide,
    recorded_env,
    with_env,
)


async def test_one_match_sets_the_record_and_the_name_the_agent_s_phone_shows(ivr, index):
    await index.replace_all([preinstallation("1001", "Juan Pérez"),
                             preinstallation("2002", "Otra Persona", "+525587654321")], "test")
    transcript = await AsteriskSide(ivr.port).run()
    # the dialplan gives `one`/`many` their QUEUE_PRIO (tests/asterisk): not a round trip here
    assert transcript.variables == {"SP_MATCH": "one", "SP_PREINST_ID": "1001",
                                    "CALLERID(name)": "Juan Pérez"}
    assert transcript.server_closed
    assert ivr.lookups == {"one": 1}


async def test_the_query_string_of_the_script_name_still_routes_to_lookup(ivr, index):
    await index.replace_all([preinstallation("1001", "Juan Pérez")], "test")
    env = with_env(recorded_env(), network_script="lookup?did=5550001001&lang=es&x=%20y")
    assert (await AsteriskSide(ivr.port, env).run()).variables["SP_MATCH"] == "one"


async def test_several_matches_give_the_count_but_no_single_name(ivr, index):
    await index.replace_all([preinstallation("1001", "Juan Pérez"),
                             preinstallation("1002", "María Pérez")], "test")
    transcript = await AsteriskSide(ivr.port).run()
    assert transcript.variables == {"SP_MATCH": "many", "SP_MATCH_COUNT": "2"}


async def test_the_number_an_agent_linked_wins_over_the_shared_ones(ivr, index):
    await index.replace_all([preinstallation("1001", "Juan Pérez"),
                             preinstallation("1002", "María Pérez")], "test")
    await index.link_number(CALLER, "1002")
    transcript = await AsteriskSide(ivr.port).run()
    assert transcript.variables["SP_MATCH"] == "one"
    assert transcript.variables["SP_PREINST_ID"] == "1002"


async def test_no_match_and_an_empty_index(ivr, index):
    transcript = await AsteriskSide(ivr.port).run()
    assert transcript.variables == {"SP_MATCH": "none"}
    await index.replace_all([preinstallation("2002", "Otra Persona", "+525587654321")], "test")
    transcript = await AsteriskSide(ivr.port).run()
    assert transcript.variables["SP_MATCH"] == "none"


async def test_withheld_or_missing_caller_id_is_no_match(ivr, index):
    await index.replace_all([preinstallation("1001", "Juan Pérez")], "test")
    for callerid in ("anonymous", "unknown", None):
        env = with_env(recorded_env(), callerid=callerid)
        transcript = await AsteriskSide(ivr.port, env).run()
        assert transcript.variables["SP_MATCH"] == "none", callerid


async def test_a_name_cannot_break_out_of_its_command(ivr, index):
    await index.replace_all([preinstallation("1001", 'Juan "J" \\ Pérez\nVERBOSE "x" 1')], "test")
    transcript = await AsteriskSide(ivr.port).run()
    assert transcript.variables["CALLERID(name)"] == 'Juan "J" \\ Pérez VERBOSE "x" 1'
    assert all(c.startswith("SET VARIABLE ") for c in transcript.commands)


async def stalled_redis_port() -> tuple[asyncio.Server, int]:
    """A Redis that accepts connections and never answers."""
    async def swallow(reader, writer):
        try:
            while await reader.read(4096):
                pass
        finally:
            writer.close()
    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_a_slow_index_answers_unknown_within_the_budget(ivr_factory, config):
    from common import redisconn

    stalled, port = await stalled_redis_port()
    client = redisconn.connect(f"redis://127.0.0.1:{port}/0", socket_timeout=30)
    try:
        ivr = await ivr_factory(config, client, agi_lookup_budget=0.2)
        transcript = await AsteriskSide(ivr.port).run(timeout=10)
        assert transcript.variables == {}  # the dialplan goes on with SP_MATCH=unknown
        assert transcript.server_closed
        assert ivr.lookups == {"unknown": 1}
    finally:
        await client.aclose()
        stalled.close()


async def test_an_unreachable_index_answers_unknown(ivr_factory, config):
    from common import redisconn

    stalled, port = await stalled_redis_port()
    stalled.close()
    await stalled.wait_closed()
    client = redisconn.connect(f"redis://127.0.0.1:{port}/0", socket_timeout=1)
    try:
        ivr = await ivr_factory(config, client)
        transcript = await AsteriskSide(ivr.port).run()
        assert transcript.variables == {} and transcript.server_closed
        assert ivr.lookups == {"unknown": 1}
    finally:
        await client.aclose()


async def test_a_caller_who_hangs_up_mid_request_does_not_shift_the_answers(ivr, index):
    await index.replace_all([preinstallation("1001", "Juan Pérez")], "test")
    # Asterisk's unsolicited HANGUP arrives before the answer to the first command
    side = AsteriskSide(ivr.port, after_env=HANGUP)
    transcript = await side.run()
    assert transcript.variables["SP_PREINST_ID"] == "1001"
    assert transcript.server_closed
    await settled(ivr)
    assert ivr.server.outcomes == {"hangup": 1}


async def test_a_dead_channel_answer_ends_nothing_badly(ivr, index):
    await index.replace_all([preinstallation("1001", "Juan Pérez")], "test")
    from tests.ivr.peer import DEAD_CHANNEL

    transcript = await AsteriskSide(ivr.port, answer=lambda n, c: DEAD_CHANNEL).run()
    assert transcript.server_closed and transcript.commands
    await settled(ivr)
    assert ivr.server.outcomes == {"hangup": 1}


async def test_a_usage_block_is_read_to_its_end(ivr, index):
    await index.replace_all([preinstallation("1001", "Juan Pérez")], "test")
    # the first command gets the recorded multi-line 520 block; the next answers stay in step
    answered = AsteriskSide(ivr.port, answer=lambda n, c: USAGE if n == 1 else None)
    transcript = await answered.run()
    assert transcript.variables["SP_PREINST_ID"] == "1001"
    await settled(ivr)
    assert ivr.server.outcomes == {"ok": 1}


async def connect_and(port: int, data: bytes) -> bytes:
    """Send `data`, half-close, and return everything the server sent until it closed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    writer.write_eof()
    try:
        async with asyncio.timeout(10):
            return await reader.read()
    finally:
        writer.close()


async def test_a_connection_closed_before_or_inside_the_environment(ivr):
    env = b"".join(recorded_env())
    for sent in (b"", env[:100]):
        assert await connect_and(ivr.port, sent) == b""
    await settled(ivr)
    assert ivr.server.outcomes == {"closed_early": 2}
    transcript = await AsteriskSide(ivr.port).run()  # and the server still serves
    assert transcript.variables["SP_MATCH"] == "none"


async def test_a_connection_closed_right_after_the_environment(ivr):
    _, writer = await asyncio.open_connection("127.0.0.1", ivr.port)
    writer.write(b"".join(recorded_env()))
    await writer.drain()
    writer.close()
    await settled(ivr)
    assert ivr.server.outcomes == {"closed_early": 1}


async def test_garbage_gets_a_clean_end_and_the_server_goes_on(ivr):
    for garbage in (b"\x00\xff\xfe garbage\n\n", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n\n\n",
                    b"agi_network: yes\n" + b"x" * 20000):
        assert await connect_and(ivr.port, garbage) == b""
    await settled(ivr)
    assert ivr.server.outcomes == {"garbage": 3}
    assert (await AsteriskSide(ivr.port).run()).variables["SP_MATCH"] == "none"


async def test_a_garbage_answer_ends_the_request(ivr):
    transcript = await AsteriskSide(ivr.port, answer=lambda n, c: [b"what?\n"]).run()
    assert len(transcript.commands) == 1 and transcript.server_closed
    await settled(ivr)
    assert ivr.server.outcomes == {"garbage": 1}


async def test_an_unknown_script_or_no_script_name_gets_a_verbose_line(ivr):
    for env in (with_env(recorded_env(), network_script="nosuch?did=1"),
                with_env(recorded_env(), network_script=None)):
        transcript = await AsteriskSide(ivr.port, env).run()
        assert len(transcript.commands) == 1 and transcript.commands[0].startswith("VERBOSE ")
        assert transcript.variables == {}
    await settled(ivr)
    assert ivr.server.outcomes == {"unknown_script": 2}


async def test_an_asterisk_that_stops_answering_is_given_up_on(ivr_factory, config):
    ivr = await ivr_factory(config)
    ivr.server._command_timeout = 0.2
    transcript = await AsteriskSide(ivr.port, answer=lambda n, c: []).run()
    assert len(transcript.commands) == 1 and transcript.server_closed
    await settled(ivr)
    assert ivr.server.outcomes == {"command_timeout": 1}
