"""The rule of screenpop.calls.access as a table (pure), and docs/websocket.md naming every
message the protocol module builds."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from screenpop.calls.access import CallFacts, Need, allowed
from screenpop.push import protocol
from screenpop.users import User
from tests.screenpop.conftest import call

ANA = User("ana", "agent", ("SIP/6001",), "Ana")
SARA = User("sara", "supervisor", (), "Sara")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "websocket.md"


def facts(legs: dict[str, str] | None, state: str | None = None, *, holders=(),
          answered=False) -> CallFacts:
    update = call("c", legs, state=state) if legs is not None else None
    return CallFacts(update, frozenset(holders), answered, True)


@pytest.mark.parametrize("case,user,known,need", [
    ("ringing", ANA, facts({"SIP/6001": "ringing"}), Need.PREPARE),
    ("holder", ANA, facts({"SIP/6001": "answered"}), Need.ACT),
    ("held it at the end", ANA, facts({"SIP/6001": "ended"}, "ended"), Need.ACT),
    ("only rang, live", ANA, facts({"SIP/6001": "answered_elsewhere", "SIP/6002": "answered"}),
     Need.NONE),
    ("only rang, ended", ANA, facts({"SIP/6001": "answered_elsewhere", "SIP/6002": "ended"},
                                    "ended"), Need.NONE),
    ("missed", ANA, facts({"SIP/6001": "missed"}, "ended"), Need.NONE),
    ("rang when the call ended", ANA, facts({"SIP/6001": "ringing"}, "ended"), Need.NONE),
    ("transferred away", ANA, facts({"SIP/6001": "transferred", "SIP/6002": "answered"},
                                    answered=True), Need.READ),
    ("state expired, holder", ANA, facts(None, holders={"SIP/6001"}, answered=True), Need.ACT),
    ("state expired, held before", ANA, facts(None, holders={"SIP/6002"}, answered=True),
     Need.READ),
    ("state expired, never held", ANA, facts(None, holders={"SIP/6002"}), Need.NONE),
    ("supervisor", SARA, facts({"SIP/6002": "answered"}), Need.READ),
], ids=lambda v: v if isinstance(v, str) else "")
def test_who_may_do_what(case, user, known, need):
    assert allowed(user, known) == need


def test_the_websocket_doc_names_every_message_the_server_sends():
    built = {protocol.hello({}, [], server_time=0, ping_interval=1)["type"],
             protocol.synced([])["type"], protocol.agent_state({})["type"],
             protocol.agents([])["type"], protocol.acked("c", 1)["type"],
             protocol.script("c", None, {}, {})["type"], protocol.operation({})["type"],
             protocol.ping()["type"], protocol.pong(None)["type"],
             protocol.pop(call("c", {"SIP/6001": "ringing"}), "SIP/6001", "ringing",
                          {})["type"]}
    text = DOCS.read_text(encoding="utf-8")
    documented = set(re.findall(r"^#{2,3} .*?`(\w+)`", text, flags=re.M))
    documented |= {kind for pair in re.findall(r"^### `(\w+)` / `(\w+)`", text, flags=re.M)
                   for kind in pair}
    assert built <= documented, built - documented
    for code in protocol.ERRORS:
        assert f"`{code}`" in text, code
