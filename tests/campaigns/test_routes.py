"""The campaign pages over HTTP on a real port: roles (an agent gets 403), CSRF, creating a
campaign from a filter over a real index in Redis and real PostgreSQL (with the count shown
before), field errors in Spanish, idempotent state changes announced on the control channel."""
from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from common.dialer.campaigns import Action
from common.dialer.outcomes import AttemptResult, Order, Outcome
from common.dialer.store import Campaign, Mode, NewLead
from tests.campaigns.conftest import campaign_form


async def get(person, path, **kwargs):
    return await person.http.get(f"{person.node.url}{path}", allow_redirects=False, **kwargs)


async def post(person, path, data, **kwargs):
    return await person.http.post(f"{person.node.url}{path}", data=data, allow_redirects=False,
                                  **kwargs)


PAGES = ["/campaigns", "/campaigns/new", "/dnc"]


async def test_agent_gets_403_everywhere(node, signed_in):
    agent = await signed_in("agente1")
    for path in PAGES:
        response = await get(agent, path)
        assert response.status == 403, path
        assert "solo para supervisión" in await response.text()
    assert (await get(agent, "/api/campaigns/count")).status == 403
    response = await post(agent, "/campaigns", campaign_form(agent.csrf))
    assert response.status == 403
    response = await post(agent, "/campaigns/x/start", {"csrf_token": agent.csrf})
    assert response.status == 403
    response = await agent.http.post(f"{node.url}/api/agents/agente2/dialer",
                                     json={"action": "pause"},
                                     headers={"X-CSRF-Token": agent.csrf})
    assert response.status == 403


@pytest.mark.parametrize("who", ["susana", "adan"])
async def test_supervisor_and_admin_open_the_pages(node, signed_in, who):
    boss = await signed_in(who)
    for path in PAGES:
        assert (await get(boss, path)).status == 200, path
    assert (await get(boss, "/campaigns/nope")).status == 404


async def test_signed_out_goes_to_login(node):
    async with aiohttp.ClientSession() as http:
        response = await http.get(f"{node.url}/campaigns", allow_redirects=False)
        assert response.status == 302 and response.headers["Location"] == "/login"


async def test_count_then_create_from_filter(node, signed_in, pool, redis, keys):
    boss = await signed_in("susana")
    # Jalisco and missing the INE front: 101, 105 (no phone); 106 is an installation now
    response = await get(boss, "/api/campaigns/count?f_zone=Jalisco&f_missing=dni_front")
    assert await response.json() == {"count": 2, "pending": 5}
    response = await get(boss, "/api/campaigns/count?f_min_age=10")
    assert (await response.json())["count"] == 2   # 102 and 103
    response = await get(boss, "/api/campaigns/count?f_min_age=abc")
    assert response.status == 400

    sub = redis.pubsub()
    await sub.subscribe(keys.dialer_control_channel)
    await sub.get_message(timeout=1.0)
    response = await post(boss, "/campaigns", campaign_form(boss.csrf))
    assert response.status == 303, await response.text()
    location = response.headers["Location"]
    campaign_id = location.rsplit("/", 1)[1]
    message = await _next_message(sub)
    assert message == campaign_id

    rows = await pool.fetch("SELECT preinstallation_id, phone, time_zone, state FROM "
                            "dialer_leads WHERE campaign_id = $1", campaign_id)
    assert [(r["preinstallation_id"], r["phone"], r["time_zone"], r["state"]) for r in rows] == [
        ("101", "+523312345601", "America/Mexico_City", "ready")]
    campaign = await pool.fetchrow("SELECT * FROM dialer_campaigns WHERE campaign_id = $1",
                                   campaign_id)
    assert campaign["state"] == "draft" and list(campaign["agents"]) == ["agente1", "agente2"]
    settings = json.loads(campaign["settings"])
    assert settings["windows"]["hours"]["sat"] == "09:00-14:00"
    assert "sun" not in settings["windows"]["hours"]
    assert settings["abandon_cap"] == 0.03 and settings["amd"] is False
    assert settings["last_import"]["bad_phones"] == [["105", ""]]

    page = await (await get(boss, location)).text()
    assert "Agregados: <strong data-k=\"added\">1</strong>" in page
    assert "Preinstalación 105" in page
    await sub.aclose()


async def test_time_zone_from_the_state(node, signed_in, pool):
    boss = await signed_in("susana")
    response = await post(boss, "/campaigns", campaign_form(
        boss.csrf, name="Todas", f_zone="", f_missing=[]))
    campaign_id = response.headers["Location"].rsplit("/", 1)[1]
    zones = {r["preinstallation_id"]: r["time_zone"] for r in await pool.fetch(
        "SELECT preinstallation_id, time_zone FROM dialer_leads WHERE campaign_id = $1",
        campaign_id)}
    assert zones == {"101": "America/Mexico_City", "102": "America/Mexico_City",
                     "103": "America/Tijuana", "104": "America/Cancun"}


async def test_field_errors_in_spanish(node, signed_in, pool):
    boss = await signed_in("susana")
    response = await post(boss, "/campaigns", campaign_form(
        boss.csrf, name="", mode="turbo", agents=[], max_attempts="0", from_mon="9am",
        abandon_cap="50", time_zone="Marte/Olympus", closed_dates="31/02/2026",
        retry_busy="-3"))
    assert response.status == 400
    page = await response.text()
    for text in ("Escriba un nombre para la campaña.", "Elija vista previa, progresivo o "
                 "predictivo.", "Elija al menos un asesor", "entre 1 y 20",
                 "Escriba las horas como HH:MM", "El tope de abandono", "Zona horaria "
                 "desconocida", "Fechas no válidas: 31/02/2026", 'id="err-retry_busy"'):
        assert text in page, text
    assert await pool.fetchval("SELECT count(*) FROM dialer_campaigns") == 0


async def test_csrf_required(node, signed_in, pool):
    boss = await signed_in("susana")
    response = await post(boss, "/campaigns", campaign_form("wrong"))
    assert response.status == 403
    assert "El formulario caducó" in await response.text()
    response = await post(boss, "/campaigns", [p for p in campaign_form(boss.csrf)
                                                if p[0] != "csrf_token"])
    assert response.status == 403
    assert await pool.fetchval("SELECT count(*) FROM dialer_campaigns") == 0
    response = await boss.http.post(f"{node.url}/api/agents/agente1/dialer",
                                    json={"action": "pause"}, headers={"X-CSRF-Token": "no"})
    assert response.status == 403


async def test_state_changes_are_idempotent_and_announced(node, signed_in, pool, redis, keys):
    boss = await signed_in("susana")
    response = await post(boss, "/campaigns", campaign_form(boss.csrf))
    campaign_id = response.headers["Location"].rsplit("/", 1)[1]
    sub = redis.pubsub()
    await sub.subscribe(keys.dialer_control_channel)
    await sub.get_message(timeout=1.0)

    async def act(action, *, as_json=False):
        if as_json:
            return await boss.http.post(f"{node.url}/campaigns/{campaign_id}/{action}",
                                        headers={"X-CSRF-Token": boss.csrf})
        return await post(boss, f"/campaigns/{campaign_id}/{action}",
                          {"csrf_token": boss.csrf})

    assert (await act("pause")).status == 409          # a draft cannot be paused
    assert (await act("start")).status == 303
    assert await _next_message(sub) == campaign_id
    assert (await act("start")).status == 303          # again: nothing happens, no error
    response = await act("pause", as_json=True)
    assert await response.json() == {"ok": True, "state": "paused", "changed": True,
                                     "label": "En pausa"}
    assert await _next_message(sub) == campaign_id
    response = await act("pause", as_json=True)
    assert (await response.json())["changed"] is False
    assert (await act("resume", as_json=True)).status == 200
    assert await _next_message(sub) == campaign_id
    assert (await act("stop")).status == 303
    assert await _next_message(sub) == campaign_id
    response = await act("resume", as_json=True)
    assert response.status == 409
    assert "detenida" in (await response.json())["message"]
    assert await pool.fetchval("SELECT state FROM dialer_campaigns WHERE campaign_id = $1",
                               campaign_id) == "stopped"
    # only the four real changes were announced
    assert await sub.get_message(ignore_subscribe_messages=True, timeout=0.3) is None
    await sub.aclose()


async def test_edit_adds_new_records(node, signed_in, pool):
    boss = await signed_in("susana")
    response = await post(boss, "/campaigns", campaign_form(boss.csrf))
    campaign_id = response.headers["Location"].rsplit("/", 1)[1]
    page = await (await get(boss, f"/campaigns/{campaign_id}/edit")).text()
    assert 'value="Jalisco sin INE"' in page
    response = await post(boss, f"/campaigns/{campaign_id}/edit", campaign_form(
        boss.csrf, f_missing=[], max_attempts="4", amd="1"))
    assert response.status == 303
    ids = sorted(r["preinstallation_id"] for r in await pool.fetch(
        "SELECT preinstallation_id FROM dialer_leads WHERE campaign_id = $1", campaign_id))
    assert ids == ["101", "102"]
    row = await pool.fetchrow("SELECT max_attempts, settings FROM dialer_campaigns "
                              "WHERE campaign_id = $1", campaign_id)
    assert row["max_attempts"] == 4 and json.loads(row["settings"])["amd"] is True
    assert json.loads(row["settings"])["last_import"]["already_there"] == 1


async def test_supervisor_pauses_and_resumes_an_agent(node, signed_in, redis, keys):
    await signed_in("agente1")       # signing in makes the agent available
    boss = await signed_in("susana")

    async def act(username, action):
        response = await boss.http.post(f"{node.url}/api/agents/{username}/dialer",
                                        json={"action": action},
                                        headers={"X-CSRF-Token": boss.csrf})
        return response.status, await response.json()

    status, body = await act("agente1", "pause")
    assert status == 200 and body["agent"]["state"] == "paused"
    assert body["agent"]["reason"] == "Pausa de supervisión"
    assert json.loads(await redis.hget(keys.agent_state("agente1"), "state")) == "paused"
    assert (await act("agente1", "pause"))[0] == 200
    status, body = await act("agente1", "resume")
    assert status == 200 and body["agent"]["state"] == "available"
    status, body = await act("agente2", "pause")          # never signed in
    assert status == 409 and "no tiene sesión" in body["message"]
    assert (await act("susana", "pause"))[0] == 404
    assert (await act("agente1", "dance"))[0] == 400


async def _next_message(sub) -> str:
    async with asyncio.timeout(5):
        while True:
            message = await sub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is not None:
                return message["data"]


async def test_never_contacted_and_last_disposition(node, signed_in, pool, store):
    """The filter's contact history: a call answered (call record) or a dialer conversation
    is a contact; the last disposition of any of them counts."""
    now = datetime.now(UTC)
    await pool.execute("INSERT INTO call_records (call_id, preinstallation_id, answered_at, "
                       "ring_at, disposition) VALUES ('c1', '101', $1, $1, 'interesado'), "
                       "('c2', '102', NULL, $1, NULL)", now - timedelta(days=1))
    await store.create_campaign(Campaign("old", "old", Mode.PROGRESSIVE, Order.AGENT_FIRST, 3,
                                         {"windows": {"hours": {"mon": "00:00-23:59"}}}))
    await store.add_leads("old", [NewLead("103", "6641234503")], now)
    due = await pool.fetchval("SELECT next_at FROM dialer_leads")
    [claim] = await store.claim("old", worker="w", now=due, lease=timedelta(minutes=5),
                                open_zones=["America/Mexico_City"])
    await store.finish(claim, AttemptResult(Outcome.NO_ANSWER, False, None, None, None, ""), due)
    await pool.execute("UPDATE dialer_attempts SET disposition = 'no contesta'")
    boss = await signed_in("susana")

    async def count(query):
        return (await (await get(boss, f"/api/campaigns/count?{query}")).json())["count"]
    # pending: 101..105; 101 was answered
    assert await count("f_never=1") == 4
    assert await count("f_disposition=interesado") == 1
    assert await count("f_disposition=no+contesta") == 1
    assert await count("f_disposition=%28ninguno%29") == 3   # 102, 104, 105
    page = await (await get(boss, "/campaigns/new")).text()
    assert '<option value="interesado"' in page and '<option value="no contesta"' in page


async def test_widening_the_hours_makes_untried_leads_due_now(node, signed_in, pool):
    boss = await signed_in("susana")
    closed = {f"open_{d}": None for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    response = await post(boss, "/campaigns", campaign_form(
        boss.csrf, f_missing=[], **{**closed, "open_sun": "1", "from_sun": "10:00",
                                    "to_sun": "11:00"}))
    campaign_id = response.headers["Location"].rsplit("/", 1)[1]
    before = await pool.fetchval("SELECT min(next_at) FROM dialer_leads WHERE campaign_id = $1",
                                 campaign_id)
    everyday = {f"open_{d}": "1" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    response = await post(boss, f"/campaigns/{campaign_id}/edit", campaign_form(
        boss.csrf, f_missing=[], **everyday, **{f"from_{d}": "00:00" for d in (
            "mon", "tue", "wed", "thu", "fri", "sat", "sun")}, **{f"to_{d}": "23:59" for d in (
                "mon", "tue", "wed", "thu", "fri", "sat", "sun")}))
    assert response.status == 303
    after = await pool.fetchval("SELECT max(next_at) FROM dialer_leads WHERE campaign_id = $1",
                                campaign_id)
    if before > datetime.now(UTC):   # not Sunday 10–11 h in Mexico City as the test runs
        assert after < before
    assert await pool.fetchval("SELECT bool_and(next_at <= now()) FROM dialer_leads "
                               "WHERE campaign_id = $1", campaign_id)


async def test_concurrent_presses_change_once(node, store, book):
    await store.create_campaign(Campaign("race", "race", Mode.PROGRESSIVE, Order.AGENT_FIRST, 3,
                                         {}))
    results = await asyncio.gather(*(book.change_state("race", Action.START)
                                     for _ in range(10)))
    assert sorted(changed for _, changed in results) == [False] * 9 + [True]
    assert {state for state, _ in results} == {"running"}
