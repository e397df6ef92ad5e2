"""The disposition as the page sends it (pure): local callback times in the customer's zone to
UTC, clock changes, limits, and the configuration file's checks."""
from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from common.dialer.store import Disposition
from common.envelope import CallUpdate
from common.settings import ConfigError
from screenpop.wrapup.choice import ChoiceError, local_moment, parse_choice
from screenpop.wrapup.settings import DispositionSettings
from screenpop.wrapup.store import attempt_hint, may_be_dialer_call

SETTINGS = DispositionSettings.from_env({})
NOW = datetime(2026, 3, 1, 18, tzinfo=UTC)
TIJUANA, CDMX = ZoneInfo("America/Tijuana"), ZoneInfo("America/Mexico_City")


def choose(body, zone=CDMX, now=NOW):
    return parse_choice(body, SETTINGS, zone=zone, now=now, me="ana")


def test_local_times_become_utc_with_the_tz_database():
    # Mexico City has had no summer time since 2022; Tijuana keeps the US one
    assert local_moment("2026-07-01", "10:30", CDMX) == datetime(2026, 7, 1, 16, 30, tzinfo=UTC)
    assert local_moment("2026-07-01", "10:30", TIJUANA) == datetime(2026, 7, 1, 17, 30,
                                                                    tzinfo=UTC)
    assert local_moment("2026-01-15", "10:30", TIJUANA) == datetime(2026, 1, 15, 18, 30,
                                                                    tzinfo=UTC)
    # 01:30 happens twice in Tijuana on 1 Nov 2026: the first one
    assert local_moment("2026-11-01", "01:30", TIJUANA) == datetime(2026, 11, 1, 8, 30,
                                                                    tzinfo=UTC)


def test_a_time_the_clock_skips_is_refused():
    with pytest.raises(ChoiceError) as refused:
        local_moment("2026-03-08", "02:30", TIJUANA)
    assert refused.value.code == "callback_time_skipped"
    assert "cambio de horario" in refused.value.message


def test_a_callback_choice_for_me_anyone_or_another_agent():
    body = {"disposition": "volver_a_llamar", "callback_date": "2026-03-02",
            "callback_time": "09:15", "notes": "llamar\x00 temprano\r\n"}
    mine = choose(body)
    assert (mine.effect, mine.callback_at, mine.callback_for, mine.callback_zone, mine.notes) == (
        Disposition.CALLBACK, datetime(2026, 3, 2, 15, 15, tzinfo=UTC), "ana",
        "America/Mexico_City", "llamar temprano")
    assert choose({**body, "callback_for": "anyone"}).callback_for is None
    assert choose({**body, "callback_for": "other",
                   "callback_agent": " Beto "}).callback_for == "beto"
    plain = choose({"disposition": "interesado", "callback_date": "x"})
    assert (plain.effect, plain.callback_at) == (Disposition.RETRY, None)


@pytest.mark.parametrize(("body", "code"), [
    ({"disposition": "volver_a_llamar", "callback_date": "2026-03-01",
      "callback_time": "11:59"}, "callback_past"),   # NOW is 12:00 in Mexico City
    ({"disposition": "volver_a_llamar", "callback_date": "2026-03-01",
      "callback_time": "10:30:15"}, "bad_callback_time"),
    ({"disposition": "volver_a_llamar", "callback_date": "01/03/2026",
      "callback_time": "10:30"}, "bad_callback_time"),
    ({"disposition": "volver_a_llamar", "callback_date": "2026-03-02", "callback_time": "10:30",
      "callback_for": "other"}, "bad_callback_for"),
    ({"disposition": None}, "bad_disposition"),
    ("interesado", "bad_request"),
])
def test_refusals(body, code):
    with pytest.raises(ChoiceError) as refused:
        choose(body)
    assert refused.value.code == code


def test_the_configuration_is_checked_key_by_key():
    good = {"disposition": [{"id": "a", "label": "A", "effect": "final"}]}
    assert DispositionSettings.from_dict(good).options[0].effect is Disposition.FINAL
    for bad, words in (
            ({}, "[[disposition]]"),
            ({"disposition": [{"id": "A b", "label": "A", "effect": "final"}]}, ".id"),
            ({"disposition": [{"id": "a", "label": "A", "effect": "later"}]}, ".effect"),
            ({"disposition": good["disposition"] * 2}, "repetido"),
            ({**good, "notes_max": 0}, "notes_max")):
        with pytest.raises(ConfigError, match=words.replace("[", r"\[").replace("]", r"\]")):
            DispositionSettings.from_dict(bad)


def test_an_unreadable_file_names_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="DISPOSITIONS_CONFIG: no se pudo leer"):
        DispositionSettings.from_env({"DISPOSITIONS_CONFIG": str(tmp_path / "no.toml")})
    bad = tmp_path / "bad.toml"
    bad.write_text("disposition = [", encoding="utf-8")
    with pytest.raises(ConfigError, match="no es TOML válido"):
        DispositionSettings.from_file(bad)


def test_which_attempt_a_call_names():
    attempt = uuid.uuid4()
    plain = CallUpdate(call_id="1732431000.42", direction="inbound", state="answered",
                       customer_number="5512345678")
    tagged = dataclasses.replace(plain, direction="outbound",
                                 variables={"CAMPAIGN_ID": "c1", "SP_CALL": str(attempt)})
    assert attempt_hint(plain.call_id, plain) is None
    assert not may_be_dialer_call(plain.call_id, plain)  # a live inbound call never waits on SQL
    assert attempt_hint(tagged.call_id, tagged) == attempt
    assert attempt_hint(f"dl-{attempt.hex}", None) == attempt
    assert attempt_hint("dl-garbage", None) is None
    assert may_be_dialer_call("1732431000.42", None)  # the envelope expired: ask the database
