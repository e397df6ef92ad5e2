"""Pure scheduling: calling windows in the customer's own zone (Tijuana with its DST changes,
Cancún, Hermosillo and Mexico City without), Mexican holidays, retry delays, attempt limits,
callbacks first at their time, a conversation today waits for tomorrow, do-not-call never."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from common.dialer.outcomes import Outcome
from common.dialer.schedule import (
    LeadState,
    RetryConfigError,
    RetryPolicy,
    Rules,
    Why,
    next_eligible,
)
from common.dialer.windows import CallingWindows, WindowConfigError
from common.dialer.zones import UnknownZone, zone_for

TIJUANA, HERMOSILLO = "America/Tijuana", "America/Hermosillo"
CANCUN, MEXICO_CITY = "America/Cancun", "America/Mexico_City"
WINDOWS = CallingWindows.default()
RULES = Rules(WINDOWS)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: str, *args) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone))


# --- zones -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("state", "zone"), [
    ("Baja California", TIJUANA), ("Sonora", HERMOSILLO), ("QUINTANA ROO", CANCUN),
    ("Q. Roo", CANCUN), ("Ciudad de México", MEXICO_CITY), ("CDMX", MEXICO_CITY),
    ("Nuevo León", "America/Monterrey"), ("Yucatán", "America/Merida"),
    ("Baja California Sur", "America/Mazatlan"), ("Estado de Jalisco", MEXICO_CITY),
])
def test_a_state_names_its_tz_database_zone(state, zone):
    assert zone_for(explicit=None, state=state, default=MEXICO_CITY) == zone


def test_the_record_own_zone_wins_and_an_unknown_state_takes_the_default():
    assert zone_for(explicit="America/Ciudad_Juarez", state="Chihuahua",
                    default=MEXICO_CITY) == "America/Ciudad_Juarez"
    assert zone_for(explicit=None, state="Atlántida", default=CANCUN) == CANCUN
    assert zone_for(explicit="", state=None, default=MEXICO_CITY) == MEXICO_CITY
    with pytest.raises(UnknownZone, match="Mexico/Gotham"):
        zone_for(explicit="Mexico/Gotham", state=None, default=MEXICO_CITY)


# --- windows ---------------------------------------------------------------------------------

def test_one_instant_is_inside_some_zones_windows_and_outside_others():
    at = utc(2026, 7, 15, 15, 30)  # a Wednesday
    assert WINDOWS.is_open(at, ZoneInfo(MEXICO_CITY))       # 09:30, no DST since 2022
    assert WINDOWS.is_open(at, ZoneInfo(CANCUN))            # 10:30
    assert not WINDOWS.is_open(at, ZoneInfo(HERMOSILLO))    # 08:30
    assert not WINDOWS.is_open(at, ZoneInfo(TIJUANA))       # 08:30 PDT
    assert WINDOWS.next_open(at, ZoneInfo(HERMOSILLO)) == utc(2026, 7, 15, 16)
    assert WINDOWS.next_open(at, ZoneInfo(TIJUANA)) == utc(2026, 7, 15, 16)
    assert WINDOWS.next_open(at, ZoneInfo(MEXICO_CITY)) == at


def test_in_winter_tijuana_opens_an_hour_later_in_utc_and_hermosillo_does_not_move():
    at = utc(2026, 1, 15, 15, 30)  # a Thursday
    assert WINDOWS.next_open(at, ZoneInfo(TIJUANA)) == utc(2026, 1, 15, 17)    # 09:00 PST
    assert WINDOWS.next_open(at, ZoneInfo(HERMOSILLO)) == utc(2026, 1, 15, 16)
    assert WINDOWS.next_open(at, ZoneInfo(MEXICO_CITY)) == at                  # 09:30 CST
    assert WINDOWS.next_open(at, ZoneInfo(CANCUN)) == at


def test_tijuana_across_the_march_dst_change():
    zone = ZoneInfo(TIJUANA)
    saturday_close = local(TIJUANA, 2026, 3, 7, 14)  # PST; DST starts Sunday 8 March 02:00
    assert WINDOWS.next_open(saturday_close, zone) == utc(2026, 3, 9, 16)  # Monday 09:00 PDT
    assert not WINDOWS.is_open(utc(2026, 3, 6, 16, 30), zone)  # Friday 08:30 PST
    assert WINDOWS.is_open(utc(2026, 3, 9, 16, 30), zone)      # Monday 09:30 PDT
    # Hermosillo keeps UTC-7 all year: the same 16:30 UTC is 09:30 there on both days
    assert WINDOWS.is_open(utc(2026, 3, 6, 16, 30), ZoneInfo(HERMOSILLO))
    assert WINDOWS.is_open(utc(2026, 3, 9, 16, 30), ZoneInfo(HERMOSILLO))


def test_tijuana_across_the_november_dst_change():
    zone = ZoneInfo(TIJUANA)
    saturday_close = local(TIJUANA, 2026, 10, 31, 14)  # PDT; DST ends Sunday 1 November
    assert WINDOWS.next_open(saturday_close, zone) == utc(2026, 11, 2, 17)  # Monday 09:00 PST
    assert WINDOWS.is_open(utc(2026, 10, 30, 16, 30), zone)       # Friday 09:30 PDT
    assert not WINDOWS.is_open(utc(2026, 11, 2, 16, 30), zone)    # Monday 08:30 PST
    evening = utc(2026, 11, 3, 2, 30)                              # Monday 18:30 PST
    assert WINDOWS.is_open(evening, zone)
    assert not WINDOWS.is_open(evening + timedelta(hours=1), zone)


def test_weekday_saturday_and_sunday_hours():
    zone = ZoneInfo(CANCUN)
    assert WINDOWS.next_open(local(CANCUN, 2026, 7, 15, 19), zone) == \
        local(CANCUN, 2026, 7, 16, 9)                                   # Wednesday at close
    assert WINDOWS.is_open(local(CANCUN, 2026, 7, 18, 13, 59), zone)    # Saturday
    assert WINDOWS.next_open(local(CANCUN, 2026, 7, 18, 14), zone) == \
        local(CANCUN, 2026, 7, 20, 9)                                   # → Monday
    assert not WINDOWS.is_open(local(CANCUN, 2026, 7, 19, 11), zone)    # Sunday


@pytest.mark.parametrize(("holiday", "next_day"), [
    (date(2026, 9, 16), date(2026, 9, 17)),   # Independencia, a Wednesday
    (date(2026, 11, 16), date(2026, 11, 17)),  # Revolución (third Monday of November)
    (date(2026, 2, 2), date(2026, 2, 3)),     # Constitución (first Monday of February)
    (date(2026, 5, 1), date(2026, 5, 2)),     # Trabajo, a Friday → Saturday hours
    (date(2030, 10, 1), date(2030, 10, 2)),   # change of federal government, every six years
])
def test_public_holidays_are_closed(holiday, next_day):
    zone = ZoneInfo(MEXICO_CITY)
    at = datetime.combine(holiday, time(10), tzinfo=zone)
    assert not WINDOWS.is_open(at, zone)
    assert WINDOWS.next_open(at, zone) == datetime.combine(next_day, time(9), tzinfo=zone)


def test_a_campaign_sets_its_own_hours_holidays_and_closed_dates():
    windows = CallingWindows.from_config({"hours": {"mon": "10:00-13:00", "sun": "11:00-12:00"},
                                          "holidays": False, "closed_dates": ["2026-12-14"]})
    zone = ZoneInfo(MEXICO_CITY)
    assert windows.next_open(local(MEXICO_CITY, 2026, 9, 15, 10), zone) == \
        local(MEXICO_CITY, 2026, 9, 20, 11)                       # Tuesday → Sunday 11:00
    assert windows.is_open(local(MEXICO_CITY, 2026, 11, 16, 10, 30), zone)  # holidays off
    assert windows.next_open(local(MEXICO_CITY, 2026, 12, 14, 9), zone) == \
        local(MEXICO_CITY, 2026, 12, 20, 11)                      # closed Monday skipped
    assert CallingWindows.from_config({}).hours == WINDOWS.hours


@pytest.mark.parametrize(("config", "message"), [
    ({"hours": {"lunes": "09:00-19:00"}}, "día desconocido"),
    ({"hours": {"mon": "19:00-09:00"}}, "termina antes de empezar"),
    ({"hours": {"mon": "nueve a siete"}}, "horario inválido"),
    ({"closed_dates": ["31/12/2026"]}, "fecha inválida"),
    ({"holidays": "sí"}, "true o false"),
])
def test_bad_window_settings_are_refused_with_the_reason(config, message):
    with pytest.raises(WindowConfigError, match=message):
        CallingWindows.from_config(config)


def test_windows_that_never_open_say_so():
    never = CallingWindows({}, frozenset())
    assert never.next_open(utc(2026, 7, 15, 12), ZoneInfo(MEXICO_CITY)) is None
    assert next_eligible(LeadState(MEXICO_CITY), Rules(never), utc(2026, 7, 15, 12)).why \
        is Why.NO_WINDOW


# --- retries, limits, callbacks, do-not-call -------------------------------------------------

NOW = local(MEXICO_CITY, 2026, 7, 15, 11)  # Wednesday 11:00


def test_a_new_lead_in_its_window_is_due_now_and_outside_it_at_the_opening():
    assert next_eligible(LeadState(MEXICO_CITY), RULES, NOW).at == NOW
    early = local(MEXICO_CITY, 2026, 7, 15, 9, 30)  # 08:30 in Tijuana
    assert next_eligible(LeadState(MEXICO_CITY), RULES, early).at == early
    assert next_eligible(LeadState(TIJUANA), RULES, early).at == local(TIJUANA, 2026, 7, 15, 9)


@pytest.mark.parametrize(("outcome", "delay"), [
    (Outcome.BUSY, timedelta(minutes=20)), (Outcome.NO_ANSWER, timedelta(hours=2)),
    (Outcome.FAILED, timedelta(minutes=30)), (Outcome.MACHINE, timedelta(hours=4)),
    (Outcome.AGENT_REJECTED, timedelta(minutes=2)), (Outcome.ABANDONED, timedelta(hours=1)),
])
def test_each_outcome_waits_its_own_retry_delay(outcome, delay):
    lead = LeadState(MEXICO_CITY, attempts=1, last_attempt_at=NOW, last_outcome=outcome)
    decided = next_eligible(lead, RULES, NOW)
    assert (decided.at, decided.why) == (NOW + delay, Why.RETRY)


def test_a_retry_that_falls_after_closing_waits_for_the_next_opening():
    late = local(MEXICO_CITY, 2026, 7, 15, 18)
    lead = LeadState(MEXICO_CITY, attempts=1, last_attempt_at=late, last_outcome=Outcome.NO_ANSWER)
    assert next_eligible(lead, RULES, late).at == local(MEXICO_CITY, 2026, 7, 16, 9)


def test_retry_delays_and_max_attempts_come_from_the_campaign():
    policy = RetryPolicy.from_config({"max_attempts": 2, "retry_minutes": {"busy": 5}})
    rules = Rules(WINDOWS, policy)
    busy = LeadState(MEXICO_CITY, attempts=1, last_attempt_at=NOW, last_outcome=Outcome.BUSY)
    assert next_eligible(busy, rules, NOW).at == NOW + timedelta(minutes=5)
    assert next_eligible(LeadState(MEXICO_CITY, attempts=2, last_attempt_at=NOW,
                                   last_outcome=Outcome.BUSY), rules, NOW).why is Why.EXHAUSTED
    for bad, message in [({"max_attempts": 0}, "al menos 1"),
                         ({"retry_minutes": {"ocupado": 5}}, "resultado desconocido"),
                         ({"retry_minutes": {"busy": -1}}, "≥ 0")]:
        with pytest.raises(RetryConfigError, match=message):
            RetryPolicy.from_config(bad)


def test_max_attempts_stops_the_lead():
    lead = LeadState(MEXICO_CITY, attempts=5, last_attempt_at=NOW, last_outcome=Outcome.NO_ANSWER)
    assert next_eligible(lead, RULES, NOW) == next_eligible(lead, RULES, NOW + timedelta(days=9))
    assert next_eligible(lead, RULES, NOW).at is None
    assert next_eligible(lead, RULES, NOW).why is Why.EXHAUSTED


def test_an_unknown_number_or_a_final_disposition_closes_the_lead():
    invalid = LeadState(MEXICO_CITY, attempts=1, last_attempt_at=NOW,
                        last_outcome=Outcome.INVALID_NUMBER)
    assert next_eligible(invalid, RULES, NOW).why is Why.CLOSED
    assert next_eligible(LeadState(MEXICO_CITY, closed=True), RULES, NOW).why is Why.CLOSED


def test_after_a_conversation_the_number_waits_for_the_customers_tomorrow():
    # 17:30 in Tijuana is already the next day in UTC: "tomorrow" is the customer's.
    talked = local(TIJUANA, 2026, 7, 15, 17, 30)
    lead = LeadState(TIJUANA, attempts=1, last_attempt_at=talked, last_outcome=Outcome.NO_ANSWER,
                     last_conversation_at=talked)
    decided = next_eligible(lead, RULES, talked)
    assert (decided.at, decided.why) == (local(TIJUANA, 2026, 7, 16, 9), Why.NEXT_DAY)


def test_a_callback_is_due_at_its_time_even_the_same_day_and_past_max_attempts():
    talked = local(MEXICO_CITY, 2026, 7, 15, 10)
    callback = local(MEXICO_CITY, 2026, 7, 15, 16, 45)
    lead = LeadState(MEXICO_CITY, attempts=5, last_attempt_at=talked,
                     last_outcome=Outcome.CONNECTED, last_conversation_at=talked,
                     callback_at=callback)
    decided = next_eligible(lead, RULES, NOW)
    assert (decided.at, decided.why, decided.is_callback) == (callback, Why.CALLBACK, True)
    overdue = next_eligible(lead, RULES, callback + timedelta(minutes=30))
    assert overdue.at == callback + timedelta(minutes=30)


def test_a_callback_outside_the_window_waits_for_its_opening():
    lead = LeadState(HERMOSILLO, callback_at=local(HERMOSILLO, 2026, 7, 15, 20))
    assert next_eligible(lead, RULES, NOW).at == local(HERMOSILLO, 2026, 7, 16, 9)


def test_do_not_call_and_withdrawn_consent_are_never_dialled_even_for_a_callback():
    callback = local(MEXICO_CITY, 2026, 7, 15, 12)
    blocked = LeadState(MEXICO_CITY, callback_at=callback, do_not_call=True)
    no_consent = LeadState(MEXICO_CITY, callback_at=callback, consent=False)
    assert next_eligible(blocked, RULES, NOW).at is None
    assert next_eligible(blocked, RULES, NOW).why is Why.DO_NOT_CALL
    assert next_eligible(no_consent, RULES, NOW).at is None
    assert next_eligible(no_consent, RULES, NOW).why is Why.NO_CONSENT
