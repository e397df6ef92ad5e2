"""Pure scoring: item results → section scores → the evaluation's score.

A failed *critical* item scores its whole section 0; a failed *fatal* item scores the whole
evaluation 0. Items marked "na" (not applicable) count neither for nor against.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

RESULTS = ("pass", "fail", "na")


@dataclass(frozen=True)
class ScoredItem:
    item_id: str
    section_id: str
    weight: float
    critical: bool
    fatal: bool
    result: str


@dataclass(frozen=True)
class SectionScore:
    section_id: str
    score: float  # 0–100
    failed_critical: bool
    possible: float  # weight that counted (pass + fail)


@dataclass(frozen=True)
class Outcome:
    score: float  # 0–100, two decimals
    passed: bool
    fatal: bool
    sections: tuple[SectionScore, ...]


def score(items: Iterable[ScoredItem], pass_score: float) -> Outcome:
    by_section: dict[str, list[ScoredItem]] = {}
    for item in items:
        if item.result not in RESULTS:
            raise ValueError(f"resultado inválido {item.result!r} en {item.item_id}")
        by_section.setdefault(item.section_id, []).append(item)
    sections, earned, possible = [], 0.0, 0.0
    for section_id, members in by_section.items():
        counted = [i for i in members if i.result != "na"]
        weight = sum(i.weight for i in counted)
        critical = any(i.critical and i.result == "fail" for i in counted)
        got = 0.0 if critical else sum(i.weight for i in counted if i.result == "pass")
        sections.append(SectionScore(section_id, round(100 * got / weight, 2) if weight else 100.0,
                                     critical, weight))
        earned, possible = earned + got, possible + weight
    fatal = any(i.fatal and i.result == "fail" for m in by_section.values() for i in m)
    total = 0.0 if fatal else (round(100 * earned / possible, 2) if possible else 100.0)
    return Outcome(total, not fatal and total >= pass_score, fatal, tuple(sections))

