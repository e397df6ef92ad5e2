"""The guided script pushed to every tab of the agent when the call's record changes."""
from __future__ import annotations

import re

from tests.screenpop.conftest import call, record


async def test_linking_a_call_sends_the_refreshed_script_to_every_tab(
        nodes, agents, users, index, telephony):
    await index.replace_all([
        record("201", "María López", ["+525511112222"]),
        record("202", "José López", ["+525511112222"]),
    ], source="test")
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"], "Ana Torres")
    node = await nodes()
    ana = agents(node, "ana")
    await ana.sign_in()
    tab1, tab2 = await ana.socket(), await ana.socket()
    await telephony.publish(call("fam", {"PJSIP/6001": "answered"}, number="5511112222"))
    await tab1.pop("fam")
    await tab2.pop("fam")
    before = await (await ana.http.get(f"{node.url}/api/calls/fam/script")).json()
    assert before["record_id"] is None and before["script"]["customer_name"] == ""

    response = await ana.link("fam", "202")
    assert response.status == 200, await response.text()
    for tab in (tab1, tab2):
        script = await tab.next_of("script")
        assert (script["call_id"], script["record_id"]) == ("fam", "202")
        assert script["script"]["customer_name"] == "José López"
        saludo = script["script"]["steps"][0]
        assert saludo["say"][1] == "¿Tengo el gusto con José López?"
        assert not any("sin preinstalación vinculada" in h for h in saludo["hints"])
        assert script["record"]["name"] == "José López"


async def test_a_call_the_agent_placed_gets_the_outbound_greeting(nodes, agents, users, index,
                                                                  telephony):
    await index.replace_all([record("301", "Rosa Díaz", ["+525533334444"])], source="test")
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"], "Ana Torres")
    node = await nodes()
    ana = agents(node, "ana")
    await ana.sign_in()
    await telephony.publish(call("out-1", {"PJSIP/6001": "answered"}, number="5533334444",
                                 direction="outbound", queue=None))
    await telephony.publish(call("in-1", {"PJSIP/6001": "ringing"}, number="5533334444"))
    outbound = await (await ana.http.get(f"{node.url}/api/calls/out-1/script")).json()
    assert outbound["script"]["direction"] == "outbound"
    greeting, purpose = outbound["script"]["steps"][0]["say"]
    assert re.fullmatch(r"Hola, muy buen(os días|as tardes|as noches)\. ¿Hablo con Rosa Díaz\?",
                        greeting), greeting
    assert purpose == ("Le llamo de Red Veloz Internet para dar seguimiento a su solicitud de "
                       "instalación. Mi nombre es Ana Torres. ¿Tiene un momento?")
    inbound = await (await ana.http.get(f"{node.url}/api/calls/in-1/script")).json()
    assert inbound["script"]["direction"] == "inbound"
    assert inbound["script"]["steps"][0]["say"][0].endswith(
        "Se comunica a Red Veloz Internet, servicio de internet. Le atiende Ana Torres. "
        "¿En qué puedo ayudarle?")
