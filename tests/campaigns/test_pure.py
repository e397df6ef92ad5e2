"""Pure campaign logic without sockets: state transitions, the form's validation and what it
stores, the record filter, and a record's state for its time zone."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from common.dialer.campaigns import (
    Action,
    Contact,
    Progress,
    TransitionError,
    actions_for,
    transition,
)
from screenpop.campaigns.filters import NO_DISPOSITION, RecordFilter, describe, select, state_of
from screenpop.campaigns.form import blank_values, parse_form, values_of
from tests.screenpop.conftest import record

NOW = datetime(2026, 12, 2, 18, tzinfo=UTC)


@pytest.mark.parametrize("state,action,after", [
    ("draft", Action.START, "running"), ("running", Action.PAUSE, "paused"),
    ("paused", Action.RESUME, "running"), ("paused", Action.STOP, "stopped"),
    ("draft", Action.STOP, "stopped"),
    ("running", Action.START, None), ("paused", Action.PAUSE, None),
    ("running", Action.RESUME, None), ("stopped", Action.STOP, None)])
def test_transitions(state, action, after):
    assert transition(state, action) == after


@pytest.mark.parametrize("state,action", [("draft", Action.PAUSE), ("draft", Action.RESUME),
                                          ("stopped", Action.START), ("stopped", Action.RESUME),
                                          ("paused", Action.START)])
def test_refused_transitions_say_why(state, action):
    with pytest.raises(TransitionError) as refused:
        transition(state, action)
    assert "No se puede" in str(refused.value)


def test_actions_offered():
    assert actions_for("draft") == [Action.START, Action.STOP]
    assert actions_for("running") == [Action.PAUSE, Action.STOP]
    assert actions_for("paused") == [Action.RESUME, Action.STOP]
    assert actions_for("stopped") == []


def _form(**changes):
    values = {k: ("1" if v is True else "" if v is False else v)
              for k, v in blank_values("America/Mexico_City").items() if not isinstance(v, list)}
    values.update(name="Prueba", **changes)
    return values


def test_defaults_make_the_issue_s_campaign():
    form = parse_form(_form(), {"agents": ["ana"]}, known_agents=["ana"],
                      default_zone="America/Mexico_City")
    assert form.ok, form.errors
    campaign = form.campaign("c1")
    assert campaign.settings["windows"] == {
        "hours": {d: "09:00-19:00" for d in ("mon", "tue", "wed", "thu", "fri")}
        | {"sat": "09:00-14:00"}, "holidays": True, "closed_dates": []}
    assert campaign.settings["abandon_cap"] == 0.03 and campaign.settings["amd"] is False
    assert campaign.settings["retry_minutes"]["no_answer"] == 120
    assert campaign.max_attempts == 5 and campaign.agents == ("ana",)
    campaign.rules(frozenset())   # the store accepts it
    # and it reads back as the same form
    again = values_of(campaign, "America/Mexico_City")
    assert again["from_sat"] == "09:00" and again["to_sat"] == "14:00"
    assert again["open_sun"] is False and again["abandon_cap"] == "3"


def test_a_queue_instead_of_agents_and_dates():
    form = parse_form(_form(queue="ventas", closed_dates="12/12/2026, 2026-12-25 2026-12-25"),
                      {}, known_agents=[], default_zone="America/Mexico_City")
    assert form.ok, form.errors
    assert form.queue == "ventas"
    assert form.settings["windows"]["closed_dates"] == ["2026-12-12", "2026-12-25"]


def test_every_day_closed_is_an_error():
    closed = {f"open_{d}": "" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    form = parse_form(_form(**closed), {"agents": ["ana"]}, known_agents=["ana"],
                      default_zone="America/Mexico_City")
    assert form.errors == {"hours": "Abra al menos un día de la semana para llamar."}


def test_filter_errors():
    form = parse_form(_form(f_min_age="30", f_max_age="5"), {"agents": ["ana"],
                      "f_missing": ["nada"]}, known_agents=["ana"],
                      default_zone="America/Mexico_City")
    assert set(form.errors) == {"f_max_age", "f_missing"}


RECORDS = [
    record("1", "A", ["+523312345601"], zone="Jalisco", missing=("dni_front",),
           created_at=NOW - timedelta(days=2)),
    record("2", "B", ["+523312345602"], zone="JALISCO", missing=("proof_of_address",),
           created_at=NOW - timedelta(days=20)),
    record("3", "C", ["+523312345603"], zone=None, missing=(), created_at=None),
]


def test_filter_selects():
    ids = lambda flt, contacts=None: [r.id for r in select(RECORDS, flt, NOW, contacts)]  # noqa: E731
    assert ids(RecordFilter()) == ["1", "2", "3"]
    assert ids(RecordFilter(zone="jalisco")) == ["1", "2"]
    assert ids(RecordFilter(missing=("dni_front", "proof_of_address"))) == ["1", "2"]
    assert ids(RecordFilter(min_age_days=10)) == ["2"]
    assert ids(RecordFilter(max_age_days=10)) == ["1"]
    contacts = {"1": Contact(True, "no le interesa"), "2": Contact(False, "buzón")}
    assert ids(RecordFilter(never_contacted=True), contacts) == ["2", "3"]
    assert ids(RecordFilter(last_disposition="buzón"), contacts) == ["2"]
    assert ids(RecordFilter(last_disposition=NO_DISPOSITION), contacts) == ["3"]
    assert describe(RecordFilter(missing=("dni_front",), never_contacted=True)) == \
        "les falta INE (frente); nunca contactados"
    assert describe(RecordFilter()) == "todas las preinstalaciones pendientes"


def test_state_for_the_time_zone():
    assert state_of(record("1", "A", [], zone="Quintana Roo")) == "Quintana Roo"
    assert state_of(record("1", "A", [], zone="ZONA SUR",
                           address="Calle 5, Hermosillo, Sonora")) == "Sonora"
    assert state_of(record("1", "A", [], zone="ZONA SUR", address="Calle 5")) is None


def test_progress_rates():
    p = Progress(total=10, pending=4, contacted=3, activated=1, exhausted=2, attempts=8,
                 answered=4, answered_30d=4, abandoned_30d=1)
    assert p.rates() == {"contact_rate": 0.5, "activation_rate": 0.25, "abandon_rate_30d": 0.25}
    assert Progress().rates() == {"contact_rate": None, "activation_rate": None,
                                  "abandon_rate_30d": None}
