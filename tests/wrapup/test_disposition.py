"""The result of a call: only the agent holding it saves it (CSRF, Spanish errors), it lands in
the call's record in PostgreSQL (a later save overwrites), a dialer attempt's lead follows it
(final, or a callback at its UTC time, first), and the agent's wrap-up ends."""
from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from common.dialer.outcomes import Outcome
from common.envelope import CallUpdate
from tests.records.conftest import closed_port
from tests.screenpop.conftest import PASSWORD, Agent, call
from tests.wrapup.conftest import (
    WrapNode,
    claimed_attempt,
    connected_attempt,
    get,
    post,
    row_when,
)

CALL = "1732431000.42"
RECORD = "SELECT * FROM call_records WHERE call_id = $1"


async def until(check, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.02)


async def _is(value, expected) -> bool:
    return await value == expected


def tomorrow_at(zone: str, hour: int, minute: int) -> tuple[str, datetime]:
    local = datetime.now(ZoneInfo(zone)).date() + timedelta(days=1)
    at = datetime(local.year, local.month, local.day, hour, minute, tzinfo=ZoneInfo(zone))
    return local.isoformat(), at.astimezone(UTC)


async def test_the_holder_saves_and_a_later_save_overwrites(floor, telephony, database):
    _, agents = floor
    ana = agents["ana"]
    other_tab = await ana.socket()
    await telephony.publish(call(CALL, {"PJSIP/6001": "answered"}))
    status, context = await get(ana, f"/api/calls/{CALL}/disposition")
    assert status == 200, context
    assert [o["id"] for o in context["options"]][:3] == ["interesado", "activado",
                                                         "volver_a_llamar"]
    assert context["zone"] == "America/Mexico_City" and context["saved"] is None
    assert {a["username"] for a in context["agents"]} == {"beto"}

    status, body = await post(ana, f"/api/calls/{CALL}/disposition",
                              {"disposition": "interesado", "notes": "  Quiere fibra\r\n "})
    assert status == 200, body
    assert body["dialer"] is None and body["saved"]["notes"] == "Quiere fibra"
    pushed = await other_tab.next_of("disposition")  # every tab of the agent shows it
    assert (pushed["call_id"], pushed["saved"]["disposition"]) == (CALL, "interesado")
    row = await row_when(database, RECORD, CALL, until=lambda r: r["disposition"])
    assert (row["disposition"], row["disposition_effect"], row["notes"], row["disposition_by"]) \
        == ("interesado", "retry", "Quiere fibra", "ana")

    status, body = await post(ana, f"/api/calls/{CALL}/disposition",
                              {"disposition": "no_le_interesa", "notes": ""})
    assert status == 200, body
    row = await row_when(database, RECORD, CALL,
                         until=lambda r: r["disposition"] == "no_le_interesa")
    assert row["notes"] is None and row["callback_at"] is None
    events = await row_when(database, "SELECT count(*) AS n FROM call_events WHERE call_id = $1 "
                            "AND kind = 'disposition'", CALL, until=lambda r: r["n"] == 2)
    assert events["n"] == 2
    _, context = await get(ana, f"/api/calls/{CALL}/disposition")
    assert context["saved"]["disposition"] == "no_le_interesa"


async def test_a_plain_callback_is_stored_in_utc_and_listed_for_the_agent(floor, telephony,
                                                                          database):
    _, agents = floor
    ana = agents["ana"]
    await telephony.publish(call(CALL, {"PJSIP/6001": "ended"}, state="ended"))
    day, due = tomorrow_at("America/Mexico_City", 10, 30)
    status, body = await post(ana, f"/api/calls/{CALL}/disposition", {
        "disposition": "volver_a_llamar", "callback_date": day, "callback_time": "10:30",
        "callback_for": "me"})
    assert status == 200, body
    assert body["saved"]["callback"] == {"date": day, "time": "10:30",
                                         "zone": "America/Mexico_City", "for": "ana"}
    row = await row_when(database, RECORD, CALL, until=lambda r: r["callback_at"])
    assert row["callback_at"] == due and row["callback_for"] == "ana"
    status, listed = await get(ana, "/api/agent/callbacks")
    assert status == 200
    assert [(c["call_id"], c["local"]["time"], c["source"]) for c in listed["callbacks"]] == \
        [(CALL, "10:30", "call")]
    _, others = await get(agents["beto"], "/api/agent/callbacks")
    assert others["callbacks"] == []

    done = f"/api/agent/callbacks/{CALL}/done"
    status, body = await post(agents["beto"], done, {})
    assert (status, body["error"]) == (404, "unknown_callback")  # not beto's
    status, body = await post(ana, done, {}, csrf=False)
    assert status == 403
    status, body = await post(ana, done, {})
    assert status == 200, body
    _, listed = await get(ana, "/api/agent/callbacks")
    assert listed["callbacks"] == []
    status, body = await post(ana, done, {})
    assert status == 404 and "ya se marcó" in body["message"]
    # a new time is a new callback, listed again
    day2, _ = tomorrow_at("America/Mexico_City", 12, 0)
    status, _ = await post(ana, f"/api/calls/{CALL}/disposition", {
        "disposition": "volver_a_llamar", "callback_date": day2, "callback_time": "12:00",
        "callback_for": "anyone"})
    assert status == 200
    await row_when(database, RECORD, CALL, until=lambda r: r["callback_done_at"] is None)
    _, listed = await get(ana, "/api/agent/callbacks")
    assert [(c["local"]["time"], c["for"]) for c in listed["callbacks"]] == [("12:00", None)]


async def test_refusals_say_what_is_wrong_in_spanish(floor, telephony):
    _, agents = floor
    ana = agents["ana"]
    await telephony.publish(call(CALL, {"PJSIP/6001": "answered"}))
    path = f"/api/calls/{CALL}/disposition"
    ok = {"disposition": "interesado"}

    status, body = await post(ana, path, ok, csrf=False)
    assert (status, body["error"]) == (403, "csrf") and "recárguela" in body["message"]
    status, body = await post(agents["beto"], path, ok)
    assert (status, body["error"]) == (403, "not_your_call")
    status, body = await post(agents["sofia"], path, ok)
    assert (status, body["error"]) == (403, "read_only")

    day, _ = tomorrow_at("America/Mexico_City", 10, 0)
    yesterday = (datetime.now(ZoneInfo("America/Mexico_City")).date()
                 - timedelta(days=1)).isoformat()
    for bad, code in (
            ({"disposition": "inventado"}, "bad_disposition"),
            ({"disposition": "interesado", "notes": "x" * 1001}, "notes_too_long"),
            ({"disposition": "interesado", "notes": 5}, "bad_notes"),
            ({"disposition": "volver_a_llamar"}, "bad_callback_time"),
            ({"disposition": "volver_a_llamar", "callback_date": yesterday,
              "callback_time": "10:00"}, "callback_past"),
            ({"disposition": "volver_a_llamar", "callback_date": "2099-01-01",
              "callback_time": "10:00"}, "callback_too_far"),
            ({"disposition": "volver_a_llamar", "callback_date": day, "callback_time": "10:00",
              "callback_for": "other", "callback_agent": "nadie"}, "unknown_agent"),
            ([], "bad_request")):
        status, body = await post(ana, path, bad)
        assert (status, body["error"]) == (400, code), (bad, body)
        assert body["message"] and body["message"][0].isupper()
    status, body = await post(ana, path, b"{no es json")
    assert (status, body["error"]) == (400, "bad_json")
    status, body = await post(ana, "/api/calls/no-existe/disposition", ok)
    assert status == 404 and body["message"] == "No existe esa llamada."


async def test_a_dialer_callback_reaches_the_lead_and_its_callbacks_row(floor, telephony,
                                                                        dialer):
    _, agents = floor
    store, pool = dialer
    attempt = await connected_attempt(store, zone="America/Tijuana")
    update = CallUpdate(call_id=CALL, direction="outbound", state="ended",
                        customer_number="5512345678", agents={"PJSIP/6001": "ended"},
                        started_at=time.time() - 60, event_at=time.time(), seq=4,
                        variables={"CAMPAIGN_ID": "c1", "PREINST_ID": "1842",
                                   "SP_CALL": str(attempt)})
    await telephony.publish(update)
    _, context = await get(agents["ana"], f"/api/calls/{CALL}/disposition")
    assert context["zone"] == "America/Tijuana"
    assert context["campaign"] == {"id": "c1", "name": "Preinstalaciones julio"}

    day, due = tomorrow_at("America/Tijuana", 10, 30)  # the customer's local time
    status, body = await post(agents["ana"], f"/api/calls/{CALL}/disposition", {
        "disposition": "volver_a_llamar", "callback_date": day, "callback_time": "10:30",
        "callback_for": "other", "callback_agent": "beto", "notes": "Después de las 10"})
    assert status == 200, body
    assert body["dialer"] == {"campaign": "Preinstalaciones julio", "applied": True}
    callback = await pool.fetchrow("SELECT * FROM dialer_callbacks WHERE done_at IS NULL")
    assert (callback["due_at"], callback["for_agent"], callback["created_by"],
            callback["attempt_id"]) == (due, "beto", "ana", attempt)
    lead = await pool.fetchrow("SELECT * FROM dialer_leads")
    assert (lead["state"], lead["priority"], lead["callback_agent"], lead["next_at"]) == \
        ("ready", 1, "beto", due)
    attempt_row = await pool.fetchrow("SELECT * FROM dialer_attempts")
    assert (attempt_row["disposition"], attempt_row["call_id"]) == ("volver_a_llamar", CALL)
    _, listed = await get(agents["beto"], "/api/agent/callbacks")
    assert [(c["source"], c["campaign"], c["local"]) for c in listed["callbacks"]] == \
        [("dialer", "Preinstalaciones julio",
          {"date": day, "time": "10:30", "zone": "America/Tijuana"})]

    # the agent changes their mind: "interesado" withdraws the callback, the campaign's rules
    # schedule the lead again (after a conversation: not before the customer's next day)
    status, body = await post(agents["ana"], f"/api/calls/{CALL}/disposition",
                              {"disposition": "interesado"})
    assert status == 200 and body["dialer"]["applied"] is True
    assert await pool.fetchval("SELECT count(*) FROM dialer_callbacks WHERE done_at IS NULL") == 0
    lead = await pool.fetchrow("SELECT * FROM dialer_leads")
    tomorrow = datetime.now(ZoneInfo("America/Tijuana")).date() + timedelta(days=1)
    assert (lead["state"], lead["priority"], lead["callback_agent"]) == ("ready", 0, None)
    assert lead["next_at"] == datetime(tomorrow.year, tomorrow.month, tomorrow.day,
                                       tzinfo=ZoneInfo("America/Tijuana"))
    _, listed = await get(agents["beto"], "/api/agent/callbacks")
    assert listed["callbacks"] == []


async def test_a_final_disposition_after_the_envelope_expired_finds_the_attempt_by_call_id(
        floor, telephony, dialer, redis, keys):
    _, agents = floor
    store, pool = dialer
    attempt = await connected_attempt(store)
    call_id = f"dl-{attempt.hex}"
    await telephony.publish(call(call_id, {"PJSIP/6001": "answered"}, direction="outbound"))
    await until(lambda: redis.exists(keys.call_holders(call_id)))
    await redis.delete(keys.call(call_id))  # telephony's state expired; the holder remains
    for _ in range(2):  # saving the same final result twice is the same
        status, body = await post(agents["ana"], f"/api/calls/{call_id}/disposition",
                                  {"disposition": "activado"})
        assert status == 200, body
        assert body["dialer"]["applied"] is True
    lead = await pool.fetchrow("SELECT state, next_at FROM dialer_leads")
    assert (lead["state"], lead["next_at"]) == ("done", None)


async def test_saving_ends_the_wrap_up_of_that_call(floor, telephony, redis, keys):
    node, agents = floor
    await telephony.publish(call(CALL, {"PJSIP/6001": "answered"}, seq=1))
    await telephony.publish(call(CALL, {"PJSIP/6001": "ended"}, state="ended", seq=2))
    key = keys.agent_state("ana")
    await until(lambda: _is(redis.hget(key, "state"), '"wrap_up"'))
    status, _ = await post(agents["ana"], f"/api/calls/{CALL}/disposition",
                           {"disposition": "interesado"})
    assert status == 200
    assert await redis.hget(key, "state") == '"available"'


async def test_a_result_saved_during_the_call_reaches_the_lead_once_the_attempt_closes(
        floor, telephony, dialer, redis, keys):
    _, agents = floor
    store, pool = dialer
    claim = await claimed_attempt(store)
    await telephony.publish(call(claim.channel_id, {"PJSIP/6001": "answered"},
                                 direction="outbound"))
    status, body = await post(agents["ana"], f"/api/calls/{claim.channel_id}/disposition",
                              {"disposition": "numero_equivocado"})
    assert status == 200, body
    assert body["dialer"]["applied"] is False and body["dialer"]["pending"] is True
    assert "en cuanto termine" in body["dialer"]["message"]
    assert (await pool.fetchval("SELECT state FROM dialer_leads")) == "dialing"
    assert await store.finish(claim, Outcome.CONNECTED, datetime.now(UTC))  # the call ends
    await until(lambda: _is(pool.fetchval("SELECT state FROM dialer_leads"), "done"))
    await until(lambda: _is(redis.hlen(keys.dispositions_pending_data), 0))
    assert not await redis.zcard(keys.dispositions_pending)


async def test_with_the_database_away_a_plain_call_saves_and_a_campaign_call_says_so(
        config, redis, index, users, telephony):
    await users.add("ana", PASSWORD, "agent", ["PJSIP/6001"], "Ana Torres")
    node = await WrapNode(config, redis, index,
                          database=f"postgresql://127.0.0.1:{closed_port()}/nada").start()
    ana = Agent(node, "ana")
    try:
        assert (await ana.sign_in()).status == 302
        await telephony.publish(call(CALL, {"PJSIP/6001": "answered"}))
        status, body = await post(ana, f"/api/calls/{CALL}/disposition",
                                  {"disposition": "interesado"})
        assert status == 200, body  # queued for the record writer, as every record fact
        dialer_call = CallUpdate(call_id="dl-" + "b" * 32, direction="outbound",
                                 state="answered", customer_number="5512345678",
                                 agents={"PJSIP/6001": "answered"}, started_at=time.time(),
                                 event_at=time.time(), seq=1,
                                 variables={"CAMPAIGN_ID": "c1", "SP_CALL": "b" * 32})
        await telephony.publish(dialer_call)
        status, body = await post(ana, f"/api/calls/{dialer_call.call_id}/disposition",
                                  {"disposition": "interesado"})
        assert (status, body["error"]) == (503, "database")
        assert body["message"].startswith("No se pudo consultar la base de datos")
    finally:
        await ana.close()
        await node.stop()
