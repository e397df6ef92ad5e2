"""The web app with the campaign pages on a real port over the test's Redis and its own migrated
PostgreSQL database, a small index of pending preinstallations, and signed-in accounts."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from aiohttp import web

from common.db.pool import LazyPool, create_pool
from common.dialer.campaigns import CampaignBook
from common.dialer.store import DialerStore
from screenpop.config import ScreenpopConfig
from screenpop.index import Installed, PreinstallationIndex
from screenpop.users import UserStore
from screenpop.web.app import create_app
from screenpop.web.state import BUS
from tests.screenpop.conftest import FAST_HASHER, PASSWORD, Agent, record

NOW = datetime.now(UTC)
RECORDS = [
    record("101", "Ana Pérez", ["+523312345601"], zone="Jalisco", missing=("dni_front",),
           created_at=NOW - timedelta(days=2)),
    record("102", "Beto Ruiz", ["+523312345602"], zone="Jalisco",
           missing=("proof_of_address",), created_at=NOW - timedelta(days=20)),
    record("103", "Carla Díaz", ["+526641234503"], zone="Baja California",
           missing=("dni_front", "dni_back"), created_at=NOW - timedelta(days=40)),
    record("104", "Dario Gómez", ["+529981234504"], zone="Quintana Roo", missing=(),
           created_at=NOW - timedelta(days=5)),
    record("105", "Elena Mora", [], zone="Jalisco", missing=("dni_front",),
           created_at=NOW - timedelta(days=1)),
    record("106", "Fito Paez", ["+523312345606"], zone="Jalisco", missing=("dni_front",),
           created_at=NOW - timedelta(days=3)),
]
INSTALLED = {"106": Installed("Instalación 9", NOW.timestamp())}   # not pending any more


@pytest.fixture
async def pool(database):
    pool = await create_pool(database, max_size=6)
    yield pool
    await pool.close()


@pytest.fixture
def store(pool) -> DialerStore:
    return DialerStore(pool, default_zone="America/Mexico_City")


@pytest.fixture
def book(pool) -> CampaignBook:
    return CampaignBook(pool)


@pytest.fixture
async def users(redis, keys, database):
    accounts = LazyPool(database, max_size=2)
    yield UserStore(accounts, redis, keys, FAST_HASHER)
    await accounts.close()


@pytest.fixture
async def index(redis, keys) -> PreinstallationIndex:
    index = PreinstallationIndex(redis, keys)
    await index.replace_all(RECORDS, source="test", installed=INSTALLED)
    return index


@pytest.fixture
async def node(redis_url, keys, redis, database, users, index):
    config = ScreenpopConfig(redis_url=redis_url, redis_prefix=keys.prefix,
                             secret_key="test-secret-key-0123456789", port=0,
                             database_url=database)
    for username, role, name in (("agente1", "agent", "Agente Uno"),
                                 ("agente2", "agent", "Agente Dos"),
                                 ("susana", "supervisor", "Susana"), ("adan", "admin", "Adán")):
        await users.add(username, PASSWORD, role, [f"PJSIP/{6000 + len(username)}"]
                        if role == "agent" else [], name)
    app = create_app(config, redis=redis, index=index, database_url=database, users=users)
    runner = web.AppRunner(app, shutdown_timeout=2.0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    await app[BUS].ready.wait()
    yield SimpleNamespace(url=f"http://127.0.0.1:{runner.addresses[0][1]}", app=app)
    await runner.cleanup()


@pytest.fixture
async def signed_in(node):
    made: list[Agent] = []

    async def sign_in(username: str) -> Agent:
        person = Agent(node, username)
        made.append(person)
        response = await person.sign_in(PASSWORD)
        assert response.status == 302
        return person

    yield sign_in
    for person in made:
        await person.close()


def campaign_form(csrf: str, **overrides) -> list[tuple[str, str]]:
    """A valid campaign form (as the page posts it), with overrides; lists repeat a field."""
    fields: dict[str, object] = {
        "csrf_token": csrf, "name": "Jalisco sin INE", "mode": "progressive",
        "call_order": "agent_first", "caller_id": "3312340000", "agents": ["agente1", "agente2"],
        "queue": "", "max_attempts": "3", "holidays": "1", "abandon_cap": "3",
        "time_zone": "America/Mexico_City", "closed_dates": "", "f_missing": ["dni_front"],
        "f_zone": "Jalisco", "f_min_age": "", "f_max_age": "", "f_disposition": "",
        **{f"open_{d}": "1" for d in ("mon", "tue", "wed", "thu", "fri", "sat")},
        **{f"from_{d}": "09:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        **{f"to_{d}": "19:00" for d in ("mon", "tue", "wed", "thu", "fri", "sun")},
        "to_sat": "14:00",
        **{f"retry_{o}": "30" for o in ("no_answer", "busy", "failed", "machine",
                                        "agent_rejected", "abandoned", "skipped")},
    }
    fields.update(overrides)
    out = []
    for name, value in fields.items():
        if value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            out.append((name, str(item)))
    return out
