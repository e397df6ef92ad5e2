"""A pool on the test's own migrated database, and the web app with the QA desk on a real port
with a signed-in account per role."""
from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from aiohttp import web

from common.db.pool import create_pool
from screenpop.config import ScreenpopConfig
from screenpop.index import PreinstallationIndex
from screenpop.qa.scorecard import load_scorecard
from screenpop.qa.settings import DEFAULT_SCORECARD, QaSettings
from screenpop.web.app import create_app
from tests.screenpop.conftest import PASSWORD, Agent, users  # noqa: F401 (fixture)

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


@pytest.fixture
def recordings(tmp_path):
    folder = tmp_path / "recordings"
    folder.mkdir()
    return folder


@pytest.fixture
def qa_settings(database, recordings, scorecard) -> QaSettings:
    return QaSettings(database_url=database, recordings_dir=recordings, scorecard=scorecard)


@pytest.fixture
async def desk(redis_url, keys, redis, qa_settings, users, database):  # noqa: F811
    """The screenpop web app with the QA desk, on a real port, and accounts for every role."""
    config = ScreenpopConfig(redis_url=redis_url, redis_prefix=keys.prefix, database_url=database,
                             secret_key="test-secret-key-0123456789", port=0)
    for username, role in (("ana", "agent"), ("beto", "agent"), ("rita", "qa"),
                           ("sofia", "qa"), ("susana", "supervisor"), ("adan", "admin")):
        await users.add(username, PASSWORD, role, [], username.capitalize())
    app = create_app(config, redis=redis, index=PreinstallationIndex(redis, keys), qa=qa_settings)
    runner = web.AppRunner(app, shutdown_timeout=2.0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    node = SimpleNamespace(url=f"http://127.0.0.1:{runner.addresses[0][1]}", app=app)
    yield node
    await runner.cleanup()


@pytest.fixture
async def signed_in(desk):
    made: list[Agent] = []

    async def sign_in(username: str) -> Agent:
        person = Agent(desk, username)
        made.append(person)
        response = await person.sign_in()
        assert response.status == 302
        return person

    yield sign_in
    for person in made:
        await person.close()
