"""Pacing per mode, and predictive pacing on simulated answer/talk-time streams: the abandoned
share (answered, no agent within 2 s) stays under the 3 % cap while agents wait less than with
progressive pacing, and no mode dials when no assigned agent is idle."""
from __future__ import annotations

import pytest

from telephony.dialer.pacing import (
    Floor,
    Measured,
    Mode,
    PacingSettings,
    decide,
    expected_abandon_share,
)
from tests.dialer.floor_sim import simulate

WARM = Measured(dialled=200, answered=60, mean_answer_seconds=9, mean_busy_seconds=100,
                answered_30d=1000, abandoned_30d=5)


def test_preview_places_no_call_and_puts_one_record_before_each_idle_agent():
    decision = decide(Mode.PREVIEW, Floor(idle_agents=3, previews_shown=1), WARM)
    assert (decision.calls, decision.previews) == (0, 2)
    assert decide(Mode.PREVIEW, Floor(idle_agents=2, previews_shown=2), WARM).previews == 0


@pytest.mark.parametrize(("idle", "ringing", "calls"), [(3, 0, 3), (3, 1, 2), (3, 3, 0), (2, 5, 0)])
def test_progressive_places_one_call_per_idle_agent(idle, ringing, calls):
    floor = Floor(idle_agents=idle, talking_agents=4, calls_ringing=ringing)
    assert decide(Mode.PROGRESSIVE, floor, WARM).calls == calls


@pytest.mark.parametrize("mode", list(Mode))
def test_no_mode_dials_when_no_assigned_agent_is_idle(mode):
    floor = Floor(idle_agents=0, talking_agents=30, calls_ringing=0)
    generous = Measured(dialled=10_000, answered=100, mean_answer_seconds=30,
                        mean_busy_seconds=5, answered_30d=10_000, abandoned_30d=0)
    decision = decide(mode, floor, generous)
    assert (decision.calls, decision.previews) == (0, 0)


def test_predictive_paces_progressively_until_it_has_measured_enough_calls():
    cold = Measured(dialled=29, answered=5, mean_answer_seconds=9, mean_busy_seconds=100)
    assert decide(Mode.PREDICTIVE, Floor(idle_agents=4), cold).calls == 4


def test_predictive_dials_more_per_agent_when_fewer_customers_answer():
    floor = Floor(idle_agents=10, talking_agents=10)
    often = decide(Mode.PREDICTIVE, floor, Measured(**{**WARM.__dict__, "answered": 120}))
    rarely = decide(Mode.PREDICTIVE, floor, Measured(**{**WARM.__dict__, "answered": 30}))
    assert often.calls > 10
    assert rarely.calls > often.calls
    assert rarely.dial_ratio > often.dial_ratio


def test_predictive_counts_on_talking_agents_more_when_calls_are_short():
    floor = Floor(idle_agents=2, talking_agents=10)
    short = decide(Mode.PREDICTIVE, floor, Measured(**{**WARM.__dict__, "mean_busy_seconds": 30}))
    long = decide(Mode.PREDICTIVE, floor, Measured(**{**WARM.__dict__, "mean_busy_seconds": 600}))
    assert short.calls > long.calls


def test_predictive_falls_back_to_progressive_once_the_30_day_rate_reaches_the_cap():
    at_cap = Measured(**{**WARM.__dict__, "answered_30d": 1000, "abandoned_30d": 30})
    floor = Floor(idle_agents=5, talking_agents=10, calls_ringing=1)
    decision = decide(Mode.PREDICTIVE, floor, at_cap)
    assert decision.calls == 4 and decision.expected_abandon == 0.0
    lower_cap = decide(Mode.PREDICTIVE, floor, WARM, PacingSettings(abandon_cap=0.005))
    assert lower_cap.calls < decide(Mode.PREDICTIVE, floor, WARM).calls


def test_no_abandonment_is_expected_while_every_answer_finds_an_idle_agent():
    assert expected_abandon_share(3, 0.9, idle=3, talking=0, frees_up=0) == 0.0
    assert expected_abandon_share(4, 1.0, idle=3, talking=0, frees_up=0) == pytest.approx(0.25)
    assert expected_abandon_share(4, 1.0, idle=3, talking=1, frees_up=1.0) == 0.0


STREAMS = {
    "10 agents, 30 % answer, 90 s talk": {"agents": 10, "answer_rates": (0.3,)},
    "10 agents, answer rate 60 % → 10 % → 60 %, 45 s talk":
        {"agents": 10, "answer_rates": (0.6, 0.1, 0.6), "talk_mean": 45.0},
    "20 agents, 30 % answer, 120 s talk":
        {"agents": 20, "answer_rates": (0.3,), "talk_mean": 120.0, "hours": 2.0},
    "3 agents, 30 % answer, 90 s talk": {"agents": 3, "answer_rates": (0.3,), "seed": 2},
}


@pytest.mark.parametrize("stream", sorted(STREAMS))
def test_predictive_keeps_abandonment_under_the_cap_and_agents_wait_less(stream):
    predictive = simulate(Mode.PREDICTIVE, **STREAMS[stream])
    progressive = simulate(Mode.PROGRESSIVE, **STREAMS[stream])
    assert predictive.answered > 100
    assert predictive.abandon_rate <= 0.03
    assert predictive.calls_placed_with_no_idle_agent == 0
    assert predictive.wait_per_connected_call < progressive.wait_per_connected_call
    assert predictive.connected >= progressive.connected
    assert progressive.abandoned == 0
    assert progressive.highest_ratio <= 1.0
