import pytest

from common.phones import all_e164, display, is_withheld, readable, to_e164

MX = "+525512345678"


@pytest.mark.parametrize("raw", [
    "5512345678", "55 1234 5678", "(55) 1234-5678", "+52 55 1234 5678", "525512345678",
    "00525512345678", "5215512345678", "+5215512345678", "0445512345678", "0455512345678",
    "044 55 1234 5678", "015512345678",
], ids=lambda raw: raw.replace(" ", "_") or "empty")
def test_every_mexican_form_normalises_to_one_e164(raw):
    assert to_e164(raw) == MX


@pytest.mark.parametrize("raw", ["anonymous", "Anonymous", "<unknown>", "unknown", "Restricted",
                                 "Private", "Unavailable", "", "   ", None],
                         ids=["anonymous", "Anonymous", "unknown-angle", "unknown", "restricted",
                              "private", "unavailable", "empty", "blank", "none"])
def test_withheld_caller_ids_have_no_number(raw):
    assert is_withheld(raw)
    assert to_e164(raw) is None


def test_invalid_numbers_are_rejected_not_guessed():
    assert to_e164("12345") is None
    assert to_e164("18005551234") is None  # a US toll-free number without +1 is not Mexican


def test_foreign_numbers_with_country_code_are_kept():
    assert to_e164("+1 212 555 0100") == "+12125550100"


def test_fields_holding_several_numbers_yield_each_once():
    assert all_e164("5512345678, +52 55 8765 4321; 5215512345678") == [MX, "+525587654321"]
    assert all_e164("") == []
    assert all_e164(None) == []


def test_display_groups_digits_for_reading():
    assert display(MX) == "+52 55 1234 5678"


@pytest.mark.parametrize(("stored", "shown"), [
    (MX, "+52 55 1234 5678"), ("5512345678", "+52 55 1234 5678"), ("anonymous", "anonymous"),
    ("6001", "6001"), ("", "—"), (None, "—")])
def test_stored_numbers_read_the_same_whatever_their_form(stored, shown):
    assert readable(stored) == shown


def test_extensions_are_not_part_of_the_number():
    assert all_e164("55 1234 5678 ext 3") == [MX]
    assert all_e164("55 1234 5678 extensión 12, 5587654321") == [MX, "+525587654321"]
