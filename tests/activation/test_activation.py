"""Activation from the pop against the sandbox over HTTP: the effect, dry run, changed form."""
from __future__ import annotations

from screenpop.script.progress import CallProgressStore
from screenpop.web.state import PROVIDER
from screenpop.wisphub.panel_forms import parse_form
from tests.activation.conftest import ANSWERS, CALL_ID, RECORD_ID, post

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
    assert installed["cliente-ip"] == "10.20.2.10"    # the first free IP of the zone posted
    assert installed["cliente-plan_internet"] == "2"         # "20 MEGAS 450"
    assert installed["cliente-router_cliente"] == "12"       # zone default "RB NORTE"
    assert installed["cliente-ap_cliente"] == "22"
    assert installed["cliente-estado_instalacion"] == "1"
    assert installed["zona"] == "ZONA NORTE - CORTE 15"
    assert installed["cliente-comentarios"].startswith("Llamar por la tarde\n\n")
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
    fields = {row["label"]: row["value"] for row in body["fields"]}
    assert fields["Ip"] == "10.20.2.10"
    assert fields["Teléfono celular"] == "5512345678,5587654321"
    assert fields["Plan internet"] == "20 MEGAS 450 · Intermedio Inalámbrico"
    assert fields["Router cliente"] == "RB NORTE"
    raw = str(body)
    assert "cliente-" not in raw and "csrfmiddlewaretoken" not in raw and "/preinstalacion/" not in raw
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
    assert op["reason"] == ("el formulario de activación de WispHub cambió: ya no tiene el campo "
                            "«AP o sectorial»")
    assert "sistemas" in op["hint"]
    assert POST_FORM not in sandbox.stats.requests
    assert RECORD_ID in sandbox.store.preinstallations
    # once the form is back, Reintentar activates
    status, body = await post(agent, f"/api/calls/{CALL_ID}/operations/activation/retry")
    assert body["operation"]["state"] == "done"
    assert sandbox.stats.requests[POST_FORM] == 1


async def test_wisphub_refusal_is_shown_with_its_reason(agent_on_call, sandbox):
    pop, agent = agent_on_call
    sandbox.store.used_ips.update(f"10.20.2.{n}" for n in range(10, 40))  # taken meanwhile
    status, body = await post(agent, ACTIVATE)
    op = body["operation"]
    assert op["state"] == "failed"
    assert "no ofrece IPs libres en la zona «ZONA NORTE - CORTE 15»" in op["reason"]
    assert RECORD_ID in sandbox.store.preinstallations


async def test_activation_says_what_is_still_needed(agent_on_call, sandbox, redis, keys):
    pop, agent = agent_on_call
    await redis.hset(keys.call_progress(CALL_ID), "a:wants_to_continue", "false")
    await redis.hdel(keys.call_progress(CALL_ID), "a:plan_id", "a:install_date")
    status, body = await post(agent, ACTIVATE)
    assert (status, body["error"]) == (409, "not_ready")
    assert body["message"] == ("Para activar falta que el cliente desee continuar, el plan y la "
                               "fecha de instalación.")


async def test_activation_keeps_every_field_wisphub_holds(agent_on_call, sandbox, redis, keys):
    """A preinstallation filled in completely in WispHub; the call captured only the plan and
    the installation date: nothing else changes, and comments are appended to."""
    pop, agent = agent_on_call
    sandbox.store.preinstallations[RECORD_ID].update(
        firstname="Juan Carlos", lastname="Pérez", dni="PELJ800101HDFRPN09",
        aditional_phone_number="5544332211", location="Lindavista", city="Gustavo A. Madero",
        coordenadas="19.4901,-99.1302", postal_code="07300",
        commentaries="Portón negro\n--- HECHO CON EL FORMULARIO DE PRE-INSTALACIÓN")
    await redis.delete(keys.call_progress(CALL_ID))
    await CallProgressStore(redis, keys, provider=pop.app[PROVIDER]).save(
        CALL_ID, by="ana", answers={key: ANSWERS[key] for key in (
            "coverage", "wants_to_continue", "zone", "plan_id", "install_date", "install_window")})
    before = parse_form(await pop.actions.writer.panel.get_page(
        f"preinstalacion/activar/{RECORD_ID}@isp-demo/{RECORD_ID}/"), "form#agregar-cliente")
    status, body = await post(agent, ACTIVATE)
    assert body["operation"]["state"] == "done", body
    installed = sandbox.store.installations[RECORD_ID]
    set_by_the_call = {"cliente-plan_internet", "cliente-fecha_instalacion", "cliente-ip",
                       "cliente-router_cliente", "cliente-ap_cliente", "cliente-cliente_rb",
                       "cliente-costo_instalacion", "cliente-estado_instalacion",
                       "cliente-comentarios"}
    for name, field in before.fields.items():
        if field.kind in ("text", "hidden", "textarea", "select") and name not in set_by_the_call:
            assert installed.get(name, "") == field.value, name
    assert installed["usr-first_name"] == "Juan Carlos" and installed["usr-last_name"] == "Pérez"
    assert installed["perfil-telefono"] == "5512345678,5544332211"
    assert installed["cliente-comentarios"].startswith(
        "Portón negro\n--- HECHO CON EL FORMULARIO DE PRE-INSTALACIÓN\n\nPlan: ")


async def test_posts_need_the_csrf_token_and_the_call(agent_on_call, sandbox, redis, keys):
    pop, agent = agent_on_call
    response = await agent.http.post(f"{pop.url}{ACTIVATE}")
    assert response.status == 403
    response = await agent.http.post(f"{pop.url}/api/calls/other-call/activate",
                                     headers={"X-CSRF-Token": agent.csrf})
    assert (response.status, (await response.json())["error"]) == (404, "unknown_call")
    assert POST_FORM not in sandbox.stats.requests
