"""Capped exponential backoff with full jitter, as a pure function."""
from __future__ import annotations

import random


def backoff_delay(attempt: int, *, base: float = 0.5, cap: float = 30.0,
                  rand: random.Random | None = None) -> float:
    """Seconds to wait before retry number `attempt` (0-based): uniform in [0, min(cap, base·2ⁿ)],
    never below a tenth of that ceiling so retries do not bunch at zero."""
    ceiling = min(cap, base * (2 ** min(attempt, 32)))
    r = (rand or random).random()
    return ceiling * (0.1 + 0.9 * r)
