"""The pure pop builder: leg state → pop state/reason, one pop per agent per call."""
from __future__ import annotations

import pytest

from screenpop.index import Match
from screenpop.pops import agent_leg, match_payload
from screenpop.push.protocol import pop as build_pop
from tests.screenpop.conftest import call, record


@pytest.mark.parametrize("leg,state,reason", [
    ("ringing", "ringing", None),
    ("answered", "answered", None),
    ("answered_elsewhere", "ended", "answered_elsewhere"),
    ("missed", "ended", "missed"),
    ("transferred", "ended", "transferred"),
    ("ended", "ended", None),
], ids=lambda v: str(v))
def test_leg_state_to_pop_state(leg, state, reason):
    update = call("c", {"PJSIP/6001": leg}, state="answered")
    pop = build_pop(update, "PJSIP/6001", leg, match_payload(Match("none", ())))
    assert (pop["state"], pop["reason"]) == (state, reason)


def test_an_ended_call_never_shows_a_live_leg():
    update = call("c", {"PJSIP/6001": "answered"}, state="ended")
    assert build_pop(update, "PJSIP/6001", "answered", {})["state"] == "ended"


def test_an_agent_with_two_endpoints_in_a_call_gets_the_most_engaged_leg():
    update = call("c", {"PJSIP/6001": "answered_elsewhere", "PJSIP/6101": "answered"})
    assert agent_leg(update, ["PJSIP/6001", "PJSIP/6101"]) == ("PJSIP/6101", "answered")
    assert agent_leg(update, ["PJSIP/6999"]) is None


def test_match_payload_carries_spanish_labels_and_readable_phones():
    payload = match_payload(Match.of([record("1", "Ana", ["+525512345678"],
                                             missing=("email", "housing"))]))
    [found] = payload["preinstallations"]
    assert payload["status"] == "one"
    assert found["missing_labels"] == ["Correo electrónico", "Casa propia o rentada"]
    assert found["phones_display"] == ["+52 55 1234 5678"]
