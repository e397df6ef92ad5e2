"""Quote arithmetic with exact Decimal amounts, for every contract × promotion × technology ×
add-ons combination of the example provider (installation $1,200, deposit $800, first month due
today; promotion: free installation 2025-11-01..2025-11-30 for both technologies)."""
from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

import pytest

from screenpop.script.money import format_money, money, quote

PROMO_DAY, NO_PROMO_DAY = date(2025, 11, 15), date(2025, 10, 31)
PLAN = {"wireless": ("inalambrico-20", Decimal("450.00")), "fiber": ("fibra-100", Decimal("549.00"))}
# every add-on the technology offers (TV is fibre only; telefonía is offered on both)
ADDONS = {"wireless": Decimal("99.50"), "fiber": Decimal("298.50")}


def expected(contract, promotion, technology, with_addons):
    installation = Decimal("0.00") if promotion else Decimal("1200.00")
    addons = ADDONS[technology] if with_addons else Decimal("0.00")
    first_month = PLAN[technology][1] + addons
    if contract == "12m" or promotion:          # free installation: the deposit is charged on its own
        return installation + Decimal("800.00") + first_month, None
    return installation + first_month, Decimal("800.00")


COMBINATIONS = list(itertools.product(("12m", "open"), (True, False), ("wireless", "fiber"),
                                      (False, True)))


@pytest.mark.parametrize(("contract", "promotion", "technology", "with_addons"), COMBINATIONS,
                         ids=[f"{c}-{'promo' if p else 'no_promo'}-{t}-{'addons' if a else 'internet'}"
                              for c, p, t, a in COMBINATIONS])
def test_due_today(config, contract, promotion, technology, with_addons):
    answers = {"technology": technology, "plan_id": PLAN[technology][0], "contract": contract,
               "addons": ["tv", "telefonia"] if with_addons else []}
    result = quote(config, answers, PROMO_DAY if promotion else NO_PROMO_DAY)
    total, held = expected(contract, promotion, technology, with_addons)
    assert result.due_today.amount == total
    assert result.due_today.text == format_money(total)
    assert result.due_today_by_contract[contract] == result.due_today
    assert sum(line.amount for line in result.due_today_lines) == total
    assert result.installation.amount == (Decimal("0.00") if promotion else Decimal("1200.00"))
    assert result.installation_base.amount == Decimal("1200.00")
    assert (result.promotion.name if result.promotion else None) == (
        "Instalación gratis noviembre" if promotion else None)
    assert (result.guarantee_held.amount if result.guarantee_held else None) == held
    assert result.first_month.amount == PLAN[technology][1]
    assert result.addons_monthly.amount == (ADDONS[technology] if with_addons else Decimal("0.00"))
    assert result.monthly.amount == PLAN[technology][1] + result.addons_monthly.amount
    assert result.deposit.amount == Decimal("800.00")
    assert len(result.refund_conditions) == 4


def test_hand_checked_amounts(config):
    # 12 months, fibre 100 + TV + telefonía, no promotion: 1200 + 800 + 549 + 199 + 99.50
    twelve = quote(config, {"technology": "fiber", "plan_id": "fibra-100", "contract": "12m",
                            "addons": ["tv", "telefonia"]}, NO_PROMO_DAY)
    assert twelve.due_today.text == "$2,847.50 MXN"
    assert [line.id for line in twelve.due_today_lines] == [
        "installation", "deposit", "first_month", "addon:tv", "addon:telefonia"]
    # open-ended, wireless 10, no promotion: 1200 + 350, of which 800 is held as guarantee
    open_ended = quote(config, {"technology": "wireless", "plan_id": "inalambrico-10",
                                "contract": "open"}, NO_PROMO_DAY)
    assert open_ended.due_today.amount == Decimal("1550.00")
    assert open_ended.guarantee_held.text == "$800.00 MXN"


def test_open_ended_lines_add_up_and_the_guarantee_is_a_part_of_the_installation(config):
    open_ended = quote(config, {"technology": "wireless", "plan_id": "inalambrico-10",
                                "contract": "open"}, NO_PROMO_DAY)
    assert [(line.id, line.text) for line in open_ended.due_today_lines] == [
        ("installation", "$1,200.00 MXN"), ("first_month", "$350.00 MXN")]
    assert sum(line.amount for line in open_ended.due_today_lines) == open_ended.due_today.amount
    held = open_ended.guarantee_held
    assert (held.part_of, held.amount) == ("installation", Decimal("800.00"))
    assert held not in open_ended.due_today_lines
    assert open_ended.to_dict()["guarantee_held"]["part_of"] == "installation"
    # before a contract is chosen, the lines shown are those both contracts charge
    blank = quote(config, {"technology": "wireless", "plan_id": "inalambrico-10"}, NO_PROMO_DAY)
    assert [line.id for line in blank.shared_lines] == ["installation", "first_month"]
    assert blank.due_today is None


def test_an_addon_the_technology_does_not_offer_is_not_charged(config):
    result = quote(config, {"technology": "wireless", "plan_id": "inalambrico-10",
                            "contract": "12m", "addons": ["tv"]}, NO_PROMO_DAY)
    assert result.addons == ()
    assert result.due_today.amount == Decimal("2350.00")


@pytest.mark.parametrize(("today", "free"), [(date(2025, 10, 31), False), (date(2025, 11, 1), True),
                                             (date(2025, 11, 30), True), (date(2025, 12, 1), False)])
def test_promotion_dates_are_inclusive(config, today, free):
    result = quote(config, {"technology": "fiber"}, today)
    assert (result.installation.amount == 0) is free


def test_promotion_for_one_technology_only(example_data, build):
    example_data["promotions"][0]["technologies"] = ["fiber"]
    config = build(example_data)
    assert quote(config, {"technology": "fiber"}, PROMO_DAY).installation.amount == 0
    assert quote(config, {"technology": "wireless"}, PROMO_DAY).installation.amount == Decimal("1200.00")
    assert quote(config, {}, PROMO_DAY).promotion is None


def test_a_promotion_without_free_installation_changes_nothing(example_data, build):
    example_data["promotions"][0]["free_installation"] = False
    assert quote(build(example_data), {"technology": "fiber"}, PROMO_DAY).installation.amount == (
        Decimal("1200.00"))


@pytest.mark.parametrize("contract", ["12m", "open"])
def test_first_month_not_due_today_and_no_deposit_when_installation_is_free(example_data, build,
                                                                           contract):
    example_data["installation"]["first_month_due_today"] = False
    example_data["deposit"]["charge_when_installation_free"] = False
    config = build(example_data)
    answers = {"technology": "fiber", "plan_id": "fibra-300", "contract": contract, "addons": ["tv"]}
    paid = quote(config, answers, NO_PROMO_DAY)
    assert paid.due_today.amount == (Decimal("2000.00") if contract == "12m" else Decimal("1200.00"))
    free = quote(config, answers, PROMO_DAY)
    assert free.due_today.amount == (Decimal("800.00") if contract == "12m" else Decimal("0.00"))
    assert free.guarantee_held is None
    assert free.monthly.amount == Decimal("998.00")


def test_nothing_chosen_yet(config):
    result = quote(config, {}, NO_PROMO_DAY)
    assert (result.due_today, result.first_month, result.monthly) == (None, None, None)
    assert result.due_today_by_contract["12m"].amount == Decimal("2000.00")
    assert result.due_today_by_contract["open"].amount == Decimal("1200.00")
    assert result.to_dict()["due_today"] is None


def test_a_plan_of_another_technology_is_not_charged(config):
    result = quote(config, {"technology": "wireless", "plan_id": "fibra-300", "contract": "open"},
                   NO_PROMO_DAY)
    assert result.first_month is None
    assert result.due_today.amount == Decimal("1200.00")


def test_quote_is_json_ready_with_amounts_as_exact_text(config):
    data = quote(config, {"technology": "wireless", "plan_id": "inalambrico-50", "contract": "12m",
                          "addons": ["telefonia"]}, PROMO_DAY).to_dict()
    assert data["due_today"] == {"id": "due_today:12m", "label": "Total a pagar hoy",
                                 "amount": "1549.50", "text": "$1,549.50 MXN"}
    assert data["promotion"] == {"id": "instalacion-gratis-noviembre",
                                 "name": "Instalación gratis noviembre",
                                 "starts": "2025-11-01", "ends": "2025-11-30"}


@pytest.mark.parametrize(("amount", "text"), [
    (Decimal("1234.5"), "$1,234.50 MXN"), (Decimal("2.005"), "$2.01 MXN"),
    (Decimal("2.004"), "$2.00 MXN"), (0, "$0.00 MXN"), (Decimal("1000000"), "$1,000,000.00 MXN")])
def test_format_rounds_half_up_to_cents(amount, text):
    assert format_money(amount) == text
    assert money(amount) == Decimal(text[1:-4].replace(",", ""))
