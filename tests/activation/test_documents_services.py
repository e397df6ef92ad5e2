"""Uploads (types by content, limits, duplicates), missing data, services with async tasks."""
from __future__ import annotations

import io

import aiohttp

from tests.activation import samples
from tests.activation.conftest import CALL_ID, RECORD_ID, post

JPEG = samples.jpeg(5000)
PDF = samples.pdf(2000)
USUARIO = f"{RECORD_ID}@isp-demo"
UPLOAD = "POST /clientes/agregar-documento/{usuario}/"


def form(content: bytes, kind: str = "dni_front", name: str = "ine.jpg",
         mime: str = "image/jpeg") -> aiohttp.FormData:
    data = aiohttp.FormData()
    data.add_field("kind", kind)
    data.add_field("file", io.BytesIO(content), filename=name, content_type=mime)
    return data


async def upload(agent, content: bytes, **kwargs):
    return await post(agent, f"/api/calls/{CALL_ID}/documents", data=form(content, **kwargs))


async def test_a_document_is_stored_once_against_the_record(agent_on_call, sandbox):
    pop, agent = agent_on_call
    status, body = await upload(agent, JPEG)
    assert status == 200, body
    assert body["operation"]["state"] == "done"
    assert body["operation"]["reference"] == "Documento «INE (frente)»"
    [stored] = sandbox.store.documents[USUARIO]
    assert (stored["titulo"], stored["content_type"], stored["size"]) == ("INE (frente)", "image/jpeg", len(JPEG))
    assert stored["filename"].endswith(".jpg")
    status, again = await upload(agent, JPEG, name="otra-vez.jpg")  # the same bytes again
    assert again["operation"]["op"] == body["operation"]["op"]
    status, pdf = await upload(agent, PDF, kind="proof_of_address", name="recibo.pdf",
                               mime="application/pdf")
    assert pdf["operation"]["state"] == "done"
    assert [d["titulo"] for d in sandbox.store.documents[USUARIO]] == [
        "INE (frente)", "Comprobante de domicilio"]
    assert sandbox.stats.requests[UPLOAD] == 2


async def test_types_are_checked_by_content(agent_on_call, sandbox):
    pop, agent = agent_on_call
    status, body = await upload(agent, b"MZ\x90\x00 not an image", name="foto.jpg")
    assert (status, body["error"]) == (415, "bad_type")
    assert "JPG, PNG, WebP, HEIC" in body["message"]
    assert UPLOAD not in sandbox.stats.requests


async def test_oversized_files_are_refused_cleanly(agent_on_call, sandbox):
    pop, agent = agent_on_call
    status, body = await upload(agent, b"\xff\xd8\xff" + b"\x00" * (20 * 1024 * 1024))
    assert (status, body["error"]) == (413, "too_large")
    assert "10 MB" in body["message"]
    status, body = await upload(agent, JPEG)  # the connection and the route still work
    assert body["operation"]["state"] == "done"
    assert sandbox.stats.requests[UPLOAD] == 1


async def test_services_use_only_documented_routes_and_the_rest_is_done_by_hand(
        agent_on_call, sandbox):
    pop, agent = agent_on_call
    status, body = await post(agent, f"/api/calls/{CALL_ID}/services")
    ops = {op["op"]: op for op in body["operations"]}
    assert ops["service-telefonia"]["state"] == "failed"  # not an installation yet
    assert "No existe el servicio" in ops["service-telefonia"]["reason"]
    await post(agent, f"/api/calls/{CALL_ID}/activate")
    status, body = await post(agent, f"/api/calls/{CALL_ID}/services")
    ops = {op["op"]: op for op in body["operations"]}
    assert set(ops) == {"service-telefonia", "service-deposit"}
    assert ops["service-telefonia"]["state"] == "done", ops
    assert ops["service-telefonia"]["reference"] == "Telefonía fija"
    # WispHub documents no route that creates a deposit: the agent is told to add it by hand
    deposit = ops["service-deposit"]
    assert deposit["state"] == "manual" and deposit["state_label"] == "hágalo en WispHub"
    assert deposit["hint"].startswith("Agréguelo a mano en WispHub a este cliente: «Depósito en "
                                      "garantía», $")
    assert [(s["nombre"], s["ruta"]) for s in sandbox.store.services] == [
        ("Telefonía fija", "/api/agregar-servicio-telefonia/")]
    assert not any("servicio-adicional" in route for route in sandbox.stats.requests)
    audit = await pop.actions.store.audit_entries(CALL_ID)
    manual = next(e for e in audit if e["op"] == "service-deposit")
    assert manual["event"] == "manual" and "Agréguelo a mano" in manual["answer"]
    await post(agent, f"/api/calls/{CALL_ID}/services")  # again: nothing new
    assert len(sandbox.store.services) == 1


async def test_the_sandbox_refuses_to_create_a_service_through_the_toggle_route(sandbox):
    async with aiohttp.ClientSession() as http:
        response = await http.post(f"{sandbox.url}servicio-adicional/activar/",
                                   json={"servicio": RECORD_ID, "nombre": "Depósito", "precio": "1"},
                                   headers={"Authorization": f"Api-Key {sandbox.api_key}"})
        assert response.status == 400
    assert sandbox.store.services == []


async def test_a_failed_task_shows_wisphubs_reason_and_can_be_retried(agent_on_call, sandbox):
    pop, agent = agent_on_call
    await post(agent, f"/api/calls/{CALL_ID}/activate")
    sandbox.faults.add("task_failure", scope="api", count=1, path="/api/agregar-servicio-telefonia/")
    status, body = await post(agent, f"/api/calls/{CALL_ID}/services")
    ops = {op["op"]: op for op in body["operations"]}
    failed = ops["service-telefonia"]
    assert failed["state"] == "failed"
    assert "El router no respondió" in failed["reason"] and failed["retryable"]
    status, body = await post(agent, f"/api/calls/{CALL_ID}/operations/service-telefonia/retry")
    assert body["operation"]["state"] == "done"
    assert [s["nombre"] for s in sandbox.store.services] == ["Telefonía fija"]


async def test_missing_data_goes_to_a_client_only_and_is_read_back(agent_on_call, sandbox):
    pop, agent = agent_on_call
    await post(agent, f"/api/calls/{CALL_ID}/activate")
    status, body = await post(agent, f"/api/calls/{CALL_ID}/data")
    ops = {op["kind"]: op for op in body["operations"]}
    # an installation is not a client yet: nothing is reported saved
    assert ops["data"]["state"] == "failed"
    assert ops["data"]["reason"].startswith("WispHub todavía no tiene a este cliente")
    # coordinates are not writable through the API: the agent copies them by hand
    assert ops["manual"]["label"] == "Coordenadas" and ops["manual"]["state"] == "manual"
    assert "19.4833,-99.1167" in ops["manual"]["hint"]
    sandbox.store.activate_installation(RECORD_ID)  # the technician activated the installation
    client = next(c for c in sandbox.store.clients if c["id_servicio"] == RECORD_ID)
    client["informacion_adicional"] = "Cliente referido"
    client["telefono"] = "5512345678,5511112222"
    status, body = await post(agent, f"/api/calls/{CALL_ID}/data")
    ops = {op["kind"]: op for op in body["operations"]}
    assert ops["data"]["state"] == "done", ops
    assert client["email"] == "juan.perez@gmail.com"
    assert client["telefono"] == "5512345678,5511112222,5587654321"
    assert client["informacion_adicional"] == "Cliente referido. Se enteró por: Facebook. Casa propia"
    assert not any(r.startswith("PATCH") for r in sandbox.stats.requests)
