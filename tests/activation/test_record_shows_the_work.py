"""What the pop did in WispHub shows in the record (FALTA), the script and the checklist, and an
activated customer is still found when they call again."""
from __future__ import annotations

from common.phones import to_e164
from screenpop.sync import IndexSync, rest_installations
from tests.activation.conftest import CALL_ID, RECORD_ID, post
from tests.activation.test_documents_services import JPEG, upload
from tests.screenpop.conftest import Telephony, call


async def script_of(agent) -> dict:
    response = await agent.http.get(f"{agent.node.url}/api/calls/{CALL_ID}/script")
    assert response.status == 200, await response.text()
    return await response.json()


def checklist(payload: dict) -> dict:
    return {c["key"]: c for c in payload["script"]["checklist"]}


async def test_uploads_and_activation_show_in_the_record_and_the_checklist(
        agent_on_call, sandbox, redis, keys, gateway, index):
    pop, agent = agent_on_call
    before = await script_of(agent)
    assert before["record"]["missing_labels"] == [
        "INE (frente)", "INE (reverso)", "Comprobante de domicilio"]
    assert before["record"]["stage"] == "pending"
    assert checklist(before)["activation"]["ok"] is False

    status, body = await upload(agent, JPEG)   # INE (frente)
    assert (status, body["operation"]["state"]) == (200, "done")
    after_upload = await script_of(agent)
    assert after_upload["record"]["missing_labels"] == ["INE (reverso)", "Comprobante de domicilio"]
    assert checklist(after_upload)["documents"]["label"] == (
        "Documentos recibidos y subidos (faltan: INE (reverso), Comprobante de domicilio)")
    items = {i["key"]: i for s in after_upload["script"]["steps"] if s["id"] == "datos"
             for i in s["items"]}
    assert (items["dni_front"]["ok"], items["dni_front"]["note"]) == (True, "subido")

    status, body = await post(agent, f"/api/calls/{CALL_ID}/activate")
    assert (status, body["operation"]["state"]) == (200, "done")
    activated = await script_of(agent)
    assert activated["script"]["activation"]["done"] is True
    assert activated["script"]["activation"]["text"] == (
        f"Preinstalación activada en WispHub (Instalación {RECORD_ID}): el cliente ya está en "
        "Instalaciones.")
    assert (activated["record"]["stage"], activated["record"]["installation_reference"]) == (
        "installed", f"Instalación {RECORD_ID}")
    assert checklist(activated)["activation"] == {
        "key": "activation", "ok": True, "label": f"Preinstalación activada (Instalación {RECORD_ID})"}

    # a later call from the same number: the customer, as an installation, not "sin coincidencia"
    sock = await agent.socket()
    await Telephony(redis, keys).publish(call("later-1", {"PJSIP/6001": "ringing"},
                                              number="55 1234 5678"))
    later = await sock.pop("later-1")
    assert later["match"]["status"] == "one"
    [found] = later["match"]["preinstallations"]
    assert (found["id"], found["stage"], found["installation_reference"]) == (
        str(RECORD_ID), "installed", f"Instalación {RECORD_ID}")

    # and after WispHub's next sync, which no longer lists it as pending
    sync = IndexSync(gateway, index, interval=60.0, installations=rest_installations(gateway.rest))
    assert (await sync.full_sync()).ok
    match = await index.match(to_e164("5512345678"))
    assert [r.id for r in match.preinstallations] == [str(RECORD_ID)]
    assert match.installed[str(RECORD_ID)].reference == f"Instalación {RECORD_ID}"
