"""Activation from the pop against the sandbox over HTTP: the effect, dry run, changed form."""
from __future__ import annotations

from tests.activation.conftest import CALL_ID, RECORD_ID, post

ACTIVATE = f"/api/calls/{CALL_ID}/activate"
POST_FORM = "POST /preinstalacion/activar/{usuario}/{id}/"


async def test_activation_turns_the_preinstallation_into_an_installation(agent_on_call, sandbox):
    pop, agent = agent_on_call
    status, body = await post(agent, ACTIVATE)
    assert status == 200, body
    op = body["operation"]
    assert (op["state"], op["reference"]) == ("done", f"Instalación {RECORD_ID}")
    assert RECORD_ID not in sandbox.store.preinstallations
    installed = sandbox.store.installations[RECORD_ID]
    assert installed["usr-first_name"] == "Juan"
    assert installed["usr-last_name"] == "Pérez López"
    assert installed["perfil-cedula"] == "PELJ800101HDFRPN09"
    assert installed["perfil-telefono"] == "5512345678,5587654321"
    assert installed["perfil-localidad"] == "Guadalupe Tepeyac"
    assert installed["cliente-coordenadas"].endswith("19.4833,-99.1167")
    assert installed["cliente-fecha_instalacion"] == "20/05/2030 09:00"
    assert installed["cliente-ip"] == "10.20.0.10"          # the first free IP offered
    assert installed["cliente-plan_internet"] == "2"         # "20 MEGAS 450"
    assert installed["cliente-router_cliente"] == "12"       # zone default "RB NORTE"
    assert installed["cliente-ap_cliente"] == "22"
    assert installed["cliente-estado_instalacion"] == "1"
    assert installed["zona"] == "ZONA NORTE - CORTE 15"
    assert "Se enteró por: Facebook" in installed["cliente-comentarios"]
    assert float(installed["cliente-costo_instalacion"]) >= 0
    # the panel's own lists agree
    assert str(RECORD_ID) in await pop.actions.writer.installation_ids()

    # clicking again is answered from the record: no second POST
    status, body = await post(agent, ACTIVATE)
    assert body["operation"]["state"] == "done"
    assert sandbox.stats.requests[POST_FORM] == 1


async def test_dry_run_shows_the_fields_and_sends_nothing(agent_on_call, sandbox):
    pop, agent = agent_on_call
    status, body = await post(agent, ACTIVATE + "?dry_run=1")
    assert status == 200, body
    assert body["dry_run"] is True
    assert body["url"] == f"/preinstalacion/activar/{RECORD_ID}@isp-demo/{RECORD_ID}/"
    fields = body["fields"]
    assert fields["cliente-ip"] == "10.20.0.10"
    assert fields["perfil-telefono"] == "5512345678,5587654321"
    assert "csrfmiddlewaretoken" not in fields
    assert POST_FORM not in sandbox.stats.requests
    assert RECORD_ID in sandbox.store.preinstallations
    status, body = await agent.http.get(f"{pop.url}/api/calls/{CALL_ID}/operations"), None
    assert (await status.json())["operations"] == []


async def test_a_changed_form_fails_precisely_and_sends_nothing(agent_on_call, sandbox):
    pop, agent = agent_on_call
    sandbox.faults.add("form_changed", scope="panel", count=1)
    status, body = await post(agent, ACTIVATE)
    op = body["operation"]
    assert op["state"] == "failed"
    assert op["reason"].startswith("el formulario de activación de WispHub cambió: falta el campo "
                                   "cliente-ap_cliente")
    assert "sistemas" in op["hint"]
    assert POST_FORM not in sandbox.stats.requests
    assert RECORD_ID in sandbox.store.preinstallations
    # once the form is back, Reintentar activates
    status, body = await post(agent, f"/api/calls/{CALL_ID}/operations/activation/retry")
    assert body["operation"]["state"] == "done"
    assert sandbox.stats.requests[POST_FORM] == 1


async def test_wisphub_refusal_is_shown_with_its_reason(agent_on_call, sandbox, redis, keys):
    pop, agent = agent_on_call
    await redis.hdel(keys.call_progress(CALL_ID), "a:install_date")
    status, body = await post(agent, ACTIVATE)
    op = body["operation"]
    assert op["state"] == "failed"
    assert "Introduzca una fecha y hora válidas" in op["reason"]
    assert RECORD_ID in sandbox.store.preinstallations


async def test_activation_needs_coverage_and_consent(agent_on_call, sandbox, redis, keys):
    pop, agent = agent_on_call
    await redis.hset(keys.call_progress(CALL_ID), "a:wants_to_continue", "false")
    status, body = await post(agent, ACTIVATE)
    assert (status, body["error"]) == (409, "not_ready")
    assert "cobertura" in body["message"]


async def test_posts_need_the_csrf_token_and_the_call(agent_on_call, sandbox, redis, keys):
    pop, agent = agent_on_call
    response = await agent.http.post(f"{pop.url}{ACTIVATE}")
    assert response.status == 403
    response = await agent.http.post(f"{pop.url}/api/calls/other-call/activate",
                                     headers={"X-CSRF-Token": agent.csrf})
    assert (response.status, (await response.json())["error"]) == (404, "unknown_call")
    assert POST_FORM not in sandbox.stats.requests
