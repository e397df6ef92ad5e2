"""Pure scoring and the shipped scorecard's configuration rules."""
from __future__ import annotations

import copy
import tomllib

import pytest

from screenpop.qa.forms import FormError, parse_clock, parse_scores
from screenpop.qa.scorecard import QaConfigError, parse_scorecard
from screenpop.qa.scoring import ScoredItem, score
from screenpop.qa.settings import DEFAULT_SCORECARD
from screenpop.script.steps import STEP_IDS

from .conftest import all_pass


def item(item_id, section, weight, result, critical=False, fatal=False):
    return ScoredItem(item_id, section, weight, critical, fatal, result)


def test_weights_make_the_score():
    outcome = score([item("a", "s1", 30, "pass"), item("b", "s1", 10, "fail"),
                     item("c", "s2", 60, "pass")], pass_score=80)
    assert outcome.score == 90.0 and outcome.passed and not outcome.fatal
    assert [s.score for s in outcome.sections] == [75.0, 100.0]


def test_not_applicable_counts_neither_way():
    outcome = score([item("a", "s", 50, "pass"), item("b", "s", 50, "na")], pass_score=80)
    assert outcome.score == 100.0


def test_failed_critical_item_zeroes_its_section_only():
    outcome = score([item("a", "s1", 10, "pass"), item("b", "s1", 10, "fail", critical=True),
                     item("c", "s2", 20, "pass")], pass_score=40)
    assert [s.score for s in outcome.sections] == [0.0, 100.0]
    assert outcome.sections[0].failed_critical
    assert outcome.score == 50.0 and outcome.passed


def test_failed_fatal_item_fails_the_evaluation():
    outcome = score([item("a", "s1", 90, "pass"), item("b", "s2", 10, "fail", fatal=True)],
                    pass_score=10)
    assert outcome.score == 0.0 and outcome.fatal and not outcome.passed


def test_below_pass_score_fails():
    assert not score([item("a", "s", 70, "pass"), item("b", "s", 30, "fail")], 80).passed


def test_shipped_scorecard_covers_the_guided_call_steps(scorecard):
    steps = {i.step for _, i in scorecard.items() if i.step}
    assert steps == {"saludo", "cobertura", "planes", "contrato", "deposito", "datos", "cierre"}
    assert steps <= set(STEP_IDS)
    assert any(i.fatal for _, i in scorecard.items())
    assert any(i.critical for _, i in scorecard.items())


def shipped() -> dict:
    return tomllib.loads(DEFAULT_SCORECARD.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("change", "names"), [
    (lambda d: d.pop("scorecard"), "scorecard"),
    (lambda d: d["scorecard"].update(pass_score=120), "scorecard.pass_score"),
    (lambda d: d["sections"][0]["items"][1].update(weight=0), "sections[0].items[1].weight"),
    (lambda d: d["sections"][0]["items"][0].update(step="bienvenida"),
     "sections[0].items[0].step"),
    (lambda d: d["sections"][1]["items"][0].update(id="saludo"), "sections[1].items[0].id"),
    (lambda d: d["sections"][1]["items"][2].update(fatal="si"), "sections[1].items[2].fatal"),
    (lambda d: d["sampling"].update(share=1.5), "sampling.share"),
    (lambda d: d["sampling"]["agents"].update(ana="mucho"), "sampling.agents.ana"),
    (lambda d: d["sampling"].update(daily_claim=2.5), "sampling.daily_claim"),
    (lambda d: d.update(sections=[]), "sections"),
])
def test_bad_configuration_names_the_key(change, names):
    data = copy.deepcopy(shipped())
    change(data)
    with pytest.raises(QaConfigError) as raised:
        parse_scorecard(data)
    assert str(raised.value).startswith(names), raised.value


def test_agent_share_overrides_the_default():
    data = shipped()
    data["sampling"]["agents"] = {"ana": 0.5}
    rules = parse_scorecard(data).sampling
    assert rules.agent_share("ana") == 0.5 and rules.agent_share("beto") == rules.share


def test_score_form_needs_every_item(scorecard):
    form = all_pass(scorecard)
    del form["result-tono"]
    with pytest.raises(FormError, match="Tono amable"):
        parse_scores(scorecard, form)


def test_score_form_reads_comments_and_recording_times(scorecard):
    form = all_pass(scorecard, cierre="fail")
    form.update({"comment-cierre": "  No confirmó el plan ", "at-cierre": "3:05",
                 "at-saludo": "12", "comment": "Buena llamada"})
    answers, comment = parse_scores(scorecard, form)
    by_id = {a.item_id: a for a in answers}
    assert by_id["cierre"].result == "fail" and by_id["cierre"].comment == "No confirmó el plan"
    assert by_id["cierre"].recording_seconds == 185.0
    assert by_id["saludo"].recording_seconds == 12.0 and by_id["tono"].recording_seconds is None
    assert comment == "Buena llamada"


@pytest.mark.parametrize("raw", ["1:75", "abc", "-3", "1:2"])
def test_bad_recording_time_is_refused(raw):
    with pytest.raises(FormError, match="Minuto de la grabación"):
        parse_clock(raw, "Saludo")


def test_hours_in_recording_time():
    assert parse_clock("1:02:03", "x") == 3723.0
