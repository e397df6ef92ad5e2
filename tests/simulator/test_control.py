"""The HTTP control endpoint, the Spanish order parser and the `call` CLI, over real HTTP."""
from __future__ import annotations

import pytest

from telephony.simulator.__main__ import build_parser, place_call
from telephony.simulator.control import create_control_app
from telephony.simulator.say import SayError, parse_order

from .amiclient import RawAmi


@pytest.fixture
async def http(sim, aiohttp_client):
    return await aiohttp_client(create_control_app(sim, default_agents=["PJSIP/6001",
                                                                        "PJSIP/6002"]))


@pytest.mark.parametrize("text, expected", [
    ("llamada entrante de +525512345678 a la cola ventas",
     {"scenario": "inbound_queue", "customer": "+525512345678", "queue": "ventas"}),
    ("Llamada ENTRANTE de 55 1234 5678 a la cola Soporte",
     {"scenario": "inbound_queue", "customer": "5512345678", "queue": "soporte"}),
    ("llamada entrante de un número privado a la cola ventas",
     {"scenario": "inbound_queue", "customer": "anonymous", "queue": "ventas"}),
    ("llamada directa al 6001 de 5598765432",
     {"scenario": "inbound_direct", "customer": "5598765432", "agents": ["PJSIP/6001"]}),
    ("llamada entrante de +525598765432 directa a la extensión 6002",
     {"scenario": "inbound_direct", "customer": "+525598765432", "agents": ["PJSIP/6002"]}),
    ("llamada saliente del 6001 al 5533334444",
     {"scenario": "agent_outbound", "customer": "5533334444", "agents": ["PJSIP/6001"]}),
    ("llamada fuera de horario de 55 1234 5678",
     {"scenario": "ivr_after_hours", "customer": "5512345678", "agents": []}),
    ("llamada de 5512345678 que pide devolución en la cola ventas",
     {"scenario": "ivr_callback", "customer": "5512345678", "agents": [], "queue": "ventas"}),
])
def test_parse_order(text, expected):
    assert parse_order(text) == expected


@pytest.mark.parametrize("text", ["hola", "llamada entrante a la cola ventas",
                                  "llamada directa al 6001", "llamada fuera de horario"])
def test_parse_order_rejects_with_a_spanish_message(text):
    with pytest.raises(SayError) as info:
        parse_order(text)
    assert "llamada" in str(info.value)


async def test_post_get_delete_calls(sim, http):
    response = await http.post("/calls", json={"scenario": "inbound_queue",
                                               "customer": "+525512345678",
                                               "strategy": "ringall", "hold_at": "answered",
                                               "speed": 0})
    assert response.status == 202
    call_id = (await response.json())["call_id"]
    call = sim.call(call_id)
    await call.wait_held()
    listed = await (await http.get("/calls")).json()
    assert [(c["call_id"], c["state"]) for c in listed["calls"]] == [(call_id, "held")]
    assert (await http.delete(f"/calls/{call_id}")).status == 200
    assert (await (await http.get("/calls")).json())["calls"] == []
    assert (await http.delete(f"/calls/{call_id}")).status == 404


async def test_post_calls_rejects_bad_requests(http):
    for body in ({"customer": "1"}, {"scenario": "nope"}, {"scenario": "inbound_queue",
                                                           "colour": "red"}):
        response = await http.post("/calls", json=body)
        assert response.status == 400
        assert (await response.json())["error"]
    assert (await http.post("/calls", data=b"not json")).status == 400


async def test_say_starts_a_call(sim, http):
    response = await http.post("/say", json={
        "text": "llamada entrante de +525512345678 a la cola ventas"})
    assert response.status == 202
    body = await response.json()
    assert body["scenario"] == "inbound_queue" and body["customer"] == "+525512345678"
    response = await http.post("/say", json={"text": "pide una pizza"})
    assert response.status == 400
    assert "No entendí" in (await response.json())["error"]


async def test_faults(sim, http):
    ami = await RawAmi.connect(sim.port)
    await ami.login()
    await ami.next()
    assert await (await http.post("/faults", json={"answer_pings": False})).json() == {
        "answer_pings": False, "dropped": 0, "shutting_down": False}
    ami.send(Action="Ping", ActionID="silent")
    ami.send(Action="Events", EventMask="on", ActionID="sentinel")
    assert (await ami.next())["ActionID"] == "sentinel"
    assert (await (await http.post("/faults", json={"drop": True})).json())["dropped"] == 1
    assert await ami.closed()
    assert (await http.post("/faults", json={"explode": True})).status == 400


async def test_a_shutting_down_pbx_refuses_every_action_and_keeps_the_connection(sim, http):
    assert (await (await http.post("/faults", json={"shutting_down": True})).json())[
        "shutting_down"] is True
    ami = await RawAmi.connect(sim.port)
    assert await ami.login() == {"Response": "Error", "ActionID": "login",
                                 "Message": "Asterisk is shutting down"}
    ami.send(Action="Ping", ActionID="still-open")
    assert await ami.next() == {"Response": "Error", "ActionID": "still-open",
                                "Message": "Asterisk is shutting down"}
    await http.post("/faults", json={"shutting_down": False})
    assert (await ami.login())["Response"] == "Success"
    await ami.close()


async def test_call_cli_posts_to_the_control_endpoint(sim, http, capsys):
    url = str(http.make_url("/"))
    args = build_parser().parse_args(["call", "agent_outbound", "--customer", "5533334444",
                                      "--agents", "PJSIP/6002", "--speed", "0",
                                      "--control-url", url])
    assert await place_call(args) == 0
    assert '"scenario": "agent_outbound"' in capsys.readouterr().out


async def test_the_ivr_callback_scenarios_start_from_the_control_endpoint(sim, http):
    for body in ({"scenario": "ivr_after_hours", "customer": "5512345678"},
                 {"text": "llamada de 5512345678 que pide devolución en la cola ventas"}):
        response = await http.post("/calls" if "scenario" in body else "/say", json=body)
        assert response.status == 202, await response.text()
        call = await response.json()
        assert call["agents"] == [] and call["scenario"] in ("ivr_after_hours", "ivr_callback")
