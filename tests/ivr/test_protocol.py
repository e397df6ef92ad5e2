"""FastAGI framing, as pure functions, on the lines Asterisk 20 really sends."""
from __future__ import annotations

import pytest

from telephony.ivr.protocol import (
    AgiProtocolError,
    Reply,
    parse_env,
    parse_reply,
    parse_script,
    set_variable,
)
from telephony.ivr.server import FastAgiServer
from tests.ivr.peer import recorded_env


def test_the_recorded_environment_is_read_whole():
    env = parse_env(b"".join(recorded_env())[:-2])
    assert len(env) == 24
    assert env["agi_network_script"] == "lookup?did=5550002001&lang=es"
    assert env["agi_accountcode"] == "" and env["agi_callerid"] == "5215512345678"


@pytest.mark.parametrize("garbage", [b"hello", b"agi_x yes", b"\xff\xfe: x", b"GET / HTTP/1.1"])
def test_garbage_is_not_an_environment(garbage):
    with pytest.raises(AgiProtocolError):
        parse_env(garbage)


@pytest.mark.parametrize("script, name, query", [
    ("lookup?did=5550002001&lang=es", "lookup", {"did": "5550002001", "lang": "es"}),
    ("/lookup/", "lookup", {}),
    ("lookup?did=", "lookup", {"did": ""}),
    ("", "", {}),
])
def test_the_route_is_the_path_before_the_query(script, name, query):
    parsed = parse_script(script)
    assert (parsed.name, parsed.query) == (name, query)


@pytest.mark.parametrize("line, reply", [
    ("200 result=1 (5215512345678)", Reply(200, "1", "5215512345678", "result=1 (5215512345678)")),
    ("200 result=0 endpos=3520", Reply(200, "0", "", "result=0 endpos=3520")),
    ("200 result= (timeout)", Reply(200, "", "timeout", "result= (timeout)")),
    ("200 result=-2", Reply(200, "-2", "", "result=-2")),
    ("510 Invalid or unknown command", Reply(510, text="Invalid or unknown command")),
    ("511 Command Not Permitted on a dead channel or intercept routine",
     Reply(511, text="Command Not Permitted on a dead channel or intercept routine")),
])
def test_recorded_answers(line, reply):
    assert parse_reply(line) == reply


@pytest.mark.parametrize("line", ["", "HANGUP", "what?", "200 nothing"])
def test_lines_that_are_not_answers(line):
    with pytest.raises(AgiProtocolError):
        parse_reply(line)


def test_values_are_quoted_and_cannot_end_the_command():
    assert set_variable("SP_MATCH", "one") == 'SET VARIABLE SP_MATCH "one"'
    assert set_variable("X", 'a"b\\c\nd\x00') == 'SET VARIABLE X "a\\"b\\\\cd"'
    with pytest.raises(ValueError):
        set_variable("X Y", "z")


async def test_a_plain_function_is_refused_as_a_route():
    server = FastAgiServer()

    def plain(session):
        return None

    with pytest.raises(TypeError, match="async def"):
        server.add_route("lookup", plain)
