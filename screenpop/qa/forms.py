"""Pure parsing of the scoring, dispute and resolution forms (field names → checked values)."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from screenpop.qa.scorecard import Scorecard
from screenpop.qa.scoring import RESULTS

MAX_COMMENT = 2000
_CLOCK = re.compile(r"^(?:(\d{1,2}):)?(\d{1,3}):(\d{2})$")


class FormError(ValueError):
    """A form the desk cannot save; the message says in Spanish what to fix."""


@dataclass(frozen=True)
class ItemAnswer:
    item_id: str
    result: str
    comment: str
    recording_seconds: float | None


def parse_scores(scorecard: Scorecard, form: Mapping[str, str]) -> tuple[list[ItemAnswer], str]:
    """Every item needs a result; `at-<item>` is a time in the recording (m:ss, h:mm:ss or s)."""
    answers = []
    for _, item in scorecard.items():
        result = (form.get(f"result-{item.id}") or "").strip()
        if result not in RESULTS:
            raise FormError(f"Falta calificar «{item.label}»: elija cumple, no cumple o no aplica.")
        answers.append(ItemAnswer(item.id, result, _comment(form.get(f"comment-{item.id}")),
                                  parse_clock(form.get(f"at-{item.id}"), item.label)))
    return answers, _comment(form.get("comment"))


def parse_clock(raw: str | None, label: str) -> float | None:
    value = (raw or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    found = _CLOCK.match(value)
    if not found:
        raise FormError(f"Minuto de la grabación inválido en «{label}»: use m:ss, p. ej. 1:25.")
    hours, minutes, seconds = int(found[1] or 0), int(found[2]), int(found[3])
    if seconds >= 60:
        raise FormError(f"Minuto de la grabación inválido en «{label}»: los segundos van de 00 a 59.")
    return float(hours * 3600 + minutes * 60 + seconds)


def required_text(raw: str | None, what: str) -> str:
    text = _comment(raw)
    if not text:
        raise FormError(f"Escriba {what}.")
    return text


def _comment(raw: str | None) -> str:
    return (raw or "").strip()[:MAX_COMMENT]
