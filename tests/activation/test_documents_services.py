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


async def test_services_are_attached_through_async_tasks(agent_on_call, sandbox):
    pop, agent = agent_on_call
    status, body = await post(agent, f"/api/calls/{CALL_ID}/services")
    assert body["operations"][0]["state"] == "failed"  # not an installation yet
    assert "No existe el servicio" in body["operations"][0]["reason"]
    await post(agent, f"/api/calls/{CALL_ID}/activate")
    status, body = await post(agent, f"/api/calls/{CALL_ID}/services")
    ops = {op["op"]: op for op in body["operations"]}
    assert set(ops) == {"service-telefonia", "service-deposit"}
    assert all(op["state"] == "done" for op in ops.values()), ops
    assert "tarea" in ops["service-telefonia"]["reference"]
    names = sorted((s["nombre"], s["ruta"]) for s in sandbox.store.services)
    assert names == [("Depósito en garantía", "/api/servicio-adicional/activar/"),
                     ("Telefonía fija", "/api/agregar-servicio-telefonia/")]
    await post(agent, f"/api/calls/{CALL_ID}/services")  # again: nothing new
    assert len(sandbox.store.services) == 2


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
    assert sorted(s["nombre"] for s in sandbox.store.services) == ["Depósito en garantía",
                                                                   "Telefonía fija"]


async def test_missing_data_is_saved_to_the_profile(agent_on_call, sandbox):
    pop, agent = agent_on_call
    await post(agent, f"/api/calls/{CALL_ID}/activate")
    status, body = await post(agent, f"/api/calls/{CALL_ID}/data")
    assert body["operation"]["state"] == "done", body
    installed = sandbox.store.installations[RECORD_ID]
    assert installed["perfil"]["email"] == "juan.perez@gmail.com"
    assert installed["perfil"]["telefono"] == "5512345678,5587654321"
    assert installed["perfil"]["informacion_adicional"] == "Se enteró por: Facebook. Casa propia"
    assert installed["cliente-coordenadas"].endswith("19.4833,-99.1167")
    listed = await (await agent.http.get(f"{pop.url}/api/calls/{CALL_ID}/operations")).json()
    assert [op["kind"] for op in listed["operations"]] == ["activation", "data"]
