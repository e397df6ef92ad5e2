"""A pool on the test's own migrated database, and calls written into it."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from common.db.pool import create_pool
from screenpop.qa.scorecard import load_scorecard
from screenpop.qa.settings import DEFAULT_SCORECARD

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


@pytest.fixture
async def pool(database):
    pool = await create_pool(database, max_size=8)
    yield pool
    await pool.close()


@pytest.fixture
def scorecard():
    return load_scorecard(DEFAULT_SCORECARD)


def all_pass(scorecard, **overrides) -> dict[str, str]:
    """A scoring form with every item «cumple», except `overrides` (item id → result)."""
    form = {f"result-{item.id}": "pass" for _, item in scorecard.items()}
    form.update({f"result-{key}": value for key, value in overrides.items()})
    return form
