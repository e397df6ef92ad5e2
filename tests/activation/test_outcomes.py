"""How WispHub's answers are read: slow and lost answers are looked up, after a wait longer than
the request can still be running, before anything is sent again; refusals are failures with
WispHub's reason; every loop ends, and then a person resolves it."""
from __future__ import annotations

import asyncio
import io

import aiohttp

from screenpop.script.progress import CallProgressStore
from screenpop.web.state import PROVIDER
from tests.activation import samples
from tests.activation.conftest import ANSWERS, CALL_ID, RECORD_ID, post, wait_for
from tests.screenpop.conftest import PASSWORD, Agent, Telephony, call

ACTIVATE = f"/api/calls/{CALL_ID}/activate"
POST_FORM = "POST /preinstalacion/activar/{usuario}/{id}/"
FORM_PATH = f"/preinstalacion/activar/{RECORD_ID}@isp-demo/{RECORD_ID}/"
UPLOAD = "POST /clientes/agregar-documento/{usuario}/"
JPEG = samples.jpeg(4000)


async def settled(pop, call_id: str = CALL_ID, op_id: str = "activation"):
    op = await pop.actions.store.get(call_id, op_id)
    return op.public() if op is not None and op.state in ("done", "verified", "failed",
                                                          "manual") else None


async def events(pop, call_id: str = CALL_ID) -> list[str]:
    return [e["event"] for e in await pop.actions.store.audit_entries(call_id)]


async def test_a_stalled_post_that_acts_after_we_gave_up_is_not_sent_again(agent_on_call, sandbox):
    """WispHub holds the POST past our 1 s timeout and activates at 1.5 s: the look that
    decides comes after that, so the record is found activated and nothing is sent twice."""
    pop, agent = agent_on_call
    sandbox.faults.add("stall", scope="panel", count=1, seconds=1.5, path=FORM_PATH, method="POST")
    status, body = await post(agent, ACTIVATE)
    assert body["operation"]["state"] == "unknown"
    assert body["operation"]["retryable"] is False  # no Reintentar while it may still be running
    final = await wait_for(lambda: settled(pop), "the look after the in-flight wait")
    assert (final["state"], final["reference"]) == ("verified", f"Instalación {RECORD_ID}")
    assert sandbox.stats.requests[POST_FORM] == 1
    assert list(sandbox.store.installations) == [RECORD_ID]


async def test_a_502_is_an_unknown_outcome_not_a_refusal_before_delivery(agent_on_call, sandbox):
    pop, agent = agent_on_call
    sandbox.faults.add("502_after", scope="panel", count=1, path=FORM_PATH, method="POST")
    status, body = await post(agent, ACTIVATE)
    assert body["operation"]["state"] == "unknown"
    assert "puede que sí lo haya hecho" in body["operation"]["reason"]
    final = await wait_for(lambda: settled(pop), "the look after the 502")
    assert final["state"] == "verified"
    assert sandbox.stats.requests[POST_FORM] == 1


async def test_two_calls_about_one_preinstallation_activate_it_once(agent_on_call, sandbox, redis,
                                                                    keys, users):
    pop, ana = agent_on_call
    other_call = "1732431000.77"
    await users.add("beto", PASSWORD, "agent", ["PJSIP/6002"], "Beto")
    await Telephony(redis, keys).publish(call(other_call, {"PJSIP/6002": "answered"},
                                              number="5512345678"))
    await CallProgressStore(redis, keys, provider=pop.app[PROVIDER]).save(
        other_call, answers=ANSWERS, by="beto")
    beto = Agent(pop, "beto")
    try:
        assert (await beto.sign_in()).status == 302
        sandbox.faults.add("stall", scope="panel", count=1, seconds=0.5, path=FORM_PATH,
                           method="POST")
        await asyncio.gather(post(ana, ACTIVATE), post(beto, f"/api/calls/{other_call}/activate"))
        first = await wait_for(lambda: settled(pop), "the first call's activation")
        second = await wait_for(lambda: settled(pop, other_call), "the second call's activation")
    finally:
        await beto.close()
    assert {first["state"], second["state"]} == {"done", "verified"}
    assert sandbox.stats.requests[POST_FORM] == 1


async def test_a_panel_refusal_is_a_failure_with_its_reason_not_an_endless_check(agent_on_call,
                                                                                 sandbox):
    pop, agent = agent_on_call
    sandbox.faults.add("403", scope="panel", count=1, path=FORM_PATH, method="POST")
    status, body = await post(agent, ACTIVATE)
    op = body["operation"]
    assert op["state"] == "failed" and op["retryable"]
    assert op["reason"] == ("WispHub rechazó la activación: el usuario del panel no tiene "
                            "permiso (403)")
    assert "check_failed" not in await events(pop)
    assert sandbox.stats.requests[POST_FORM] == 1
    # the call's audit keeps what was posted and what WispHub answered
    answer = next(e for e in await pop.actions.store.audit_entries(CALL_ID) if e["event"] == "answer")
    assert answer["sent"]["cliente-ip"] == "10.20.2.10"
    assert answer["answer"].startswith("HTTP 403")


async def test_an_html_200_to_a_rest_write_is_looked_up_before_any_resend(agent_on_call, sandbox):
    pop, agent = agent_on_call
    await post(agent, ACTIVATE)
    sandbox.faults.add("html_200", scope="api", count=1, path="/api/agregar-servicio-telefonia/")
    status, body = await post(agent, f"/api/calls/{CALL_ID}/services")
    phone = next(op for op in body["operations"] if op["op"] == "service-telefonia")
    assert phone["state"] == "unknown", phone
    assert phone["retryable"] is False
    final = await wait_for(lambda: settled(pop, op_id="service-telefonia"), "the service",
                           timeout=20)
    assert final["state"] == "done"
    assert [s["nombre"] for s in sandbox.store.services] == ["Telefonía fija"]
    assert (await events(pop)).count("not_there_yet") == 1  # looked, then (only then) sent again


async def test_a_check_that_never_settles_stops_and_a_person_resolves_it(agent_on_call, sandbox,
                                                                         redis, keys, users):
    pop, agent = agent_on_call
    sandbox.faults.add("stall_after", scope="panel", count=1, path=FORM_PATH, method="POST")
    status, body = await post(agent, ACTIVATE)
    assert body["operation"]["state"] == "unknown"
    sandbox.faults.add("layout", scope="panel", path="/preinstalaciones/")  # every look fails
    final = await wait_for(lambda: settled(pop), "the capped checks", timeout=30)
    sandbox.faults.release_stalls()
    assert final["state"] == "failed" and final["needs_person"] is True
    assert final["reason"].startswith("Necesita revisión: no se pudo comprobar en WispHub")
    assert "Supervisión ya está avisada" in final["hint"]
    assert sandbox.stats.requests[POST_FORM] == 1
    # supervisors see it
    await users.add("sofia", PASSWORD, "supervisor", [], "Sofía")
    sofia = Agent(pop, "sofia")
    try:
        assert (await sofia.sign_in()).status == 302
        listed = await (await sofia.http.get(f"{pop.url}/api/operations/attention")).json()
        assert [(o["call_id"], o["op"]) for o in listed["operations"]] == [(CALL_ID, "activation")]
        # the agent looked in WispHub: it is there
        status, body = await post(agent, f"/api/calls/{CALL_ID}/operations/activation/resolve",
                                  json={"done": True})
        assert body["operation"]["state"] == "verified"
        assert body["operation"]["reference"] == "Confirmado en WispHub por ana"
        listed = await (await sofia.http.get(f"{pop.url}/api/operations/attention")).json()
        assert listed["operations"] == []
    finally:
        await sofia.close()
    assert (await events(pop))[-1] == "resolved"


async def test_a_document_redirected_with_an_error_message_is_not_done(agent_on_call, sandbox):
    pop, agent = agent_on_call
    sandbox.faults.add("document_refused", scope="panel", count=1, method="POST")
    data = aiohttp.FormData()
    data.add_field("kind", "dni_front")
    data.add_field("file", io.BytesIO(JPEG), filename="ine.jpg", content_type="image/jpeg")
    status, body = await post(agent, f"/api/calls/{CALL_ID}/documents", data=data)
    op = body["operation"]
    assert op["state"] == "failed"
    assert op["reason"] == ("WispHub rechazó el documento «INE (frente)»: El archivo no se pudo "
                            "guardar: el formato no es válido.")
    assert sandbox.store.documents.get(f"{RECORD_ID}@isp-demo") is None
    # the file was kept: Reintentar sends it without asking the customer again
    status, body = await post(agent, f"/api/calls/{CALL_ID}/operations/{op['op']}/retry")
    assert body["operation"]["state"] == "done", body
    assert [d["size"] for d in sandbox.store.documents[f"{RECORD_ID}@isp-demo"]] == [len(JPEG)]
    assert sandbox.stats.requests[UPLOAD] == 2
