"""Pops over real WebSockets: who gets what, ringall, replay on reconnect, tabs, linking."""
from __future__ import annotations

from dataclasses import replace

from tests.screenpop.conftest import call, record

REQUIRED_KEYS = {"type", "version", "call_id", "direction", "state", "agent_endpoint",
                 "customer_number", "match"}


async def test_mapped_agent_gets_the_pop_and_an_unmapped_agent_gets_nothing(
        nodes, agents, users, index, telephony):
    await index.replace_all([record("101", "Juan Pérez", ["+525512345678"],
                                    email="juan@example.com", address="Calle 5 #12",
                                    zone="Norte")], source="test")
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"], "Ana Torres")
    await users.add("luis", "secreto-123", "agent", ["PJSIP/6002"], "Luis Ramírez")
    node = await nodes()
    ana, luis = agents(node, "ana"), agents(node, "luis")
    await ana.sign_in()
    await luis.sign_in()
    ana_ws, luis_ws = await ana.socket(), await luis.socket()
    assert ana_ws.hello["version"] == 1
    assert ana_ws.hello["endpoints"] == ["PJSIP/6001"]
    assert ana_ws.hello["user"]["display_name"] == "Ana Torres"

    await telephony.publish(call("c1", {"PJSIP/6001": "ringing"}, number="5512345678"))
    pop = await ana_ws.pop("c1")
    assert REQUIRED_KEYS <= pop.keys()
    assert pop["version"] == 1
    assert (pop["direction"], pop["state"], pop["agent_endpoint"]) == (
        "inbound", "ringing", "PJSIP/6001")
    assert pop["customer_number"] == "+525512345678"
    assert pop["customer_display"] == "+52 55 1234 5678"
    assert pop["queue"] == "ventas"
    assert pop["match"]["status"] == "one"
    [found] = pop["match"]["preinstallations"]
    assert {k: found[k] for k in ("id", "name", "phone", "email", "zone")} == {
        "id": "101", "name": "Juan Pérez", "phone": "+525512345678",
        "email": "juan@example.com", "zone": "Norte"}
    assert found["missing"] == ["dni_front", "proof_of_address"]
    assert found["missing_labels"] == ["INE (frente)", "Comprobante de domicilio"]

    # Luis is not mapped to 6001: the next thing he receives is his own sentinel call.
    await telephony.publish(call("sentinel", {"PJSIP/6002": "ringing"}))
    assert (await luis_ws.pop())["call_id"] == "sentinel"

    await telephony.publish(call("c1", {"PJSIP/6001": "answered"}, seq=2))
    answered = await ana_ws.pop("c1")
    assert answered["state"] == "answered"
    await telephony.publish(call("c1", {"PJSIP/6001": "ended"}, state="ended", seq=3))
    assert (await ana_ws.pop("c1"))["state"] == "ended"


async def test_withheld_and_unknown_numbers_pop_without_match(nodes, agents, users, telephony):
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"])
    node = await nodes()
    ana = agents(node, "ana")
    await ana.sign_in()
    ws = await ana.socket()
    await telephony.publish(call("anon", {"PJSIP/6001": "ringing"}, number="anonymous"))
    pop = await ws.pop("anon")
    assert pop["customer_number"] is None
    assert pop["customer_display"] == "Número oculto"
    assert pop["match"] == {"status": "none", "preinstallations": []}
    await telephony.publish(call("unknown", {"PJSIP/6001": "ringing"}, number="5599990000"))
    pop = await ws.pop("unknown")
    assert pop["customer_number"] == "+525599990000"
    assert pop["match"]["status"] == "none"
    # a campaign call rings the agent before the customer is dialled: nobody withheld anything
    await telephony.publish(call("agent-first", {"PJSIP/6001": "ringing"}, number=None,
                                 direction="outbound", queue=None))
    assert (await ws.pop("agent-first"))["customer_display"] == "Por marcar"


async def test_ringall_the_agent_who_does_not_answer_sees_answered_elsewhere(
        nodes, agents, users, telephony):
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"])
    await users.add("luis", "secreto-123", "agent", ["PJSIP/6002"])
    node = await nodes()
    ana, luis = agents(node, "ana"), agents(node, "luis")
    await ana.sign_in()
    await luis.sign_in()
    ana_ws, luis_ws = await ana.socket(), await luis.socket()

    await telephony.publish(call("q1", {"PJSIP/6001": "ringing", "PJSIP/6002": "ringing"}))
    assert (await ana_ws.pop("q1"))["state"] == "ringing"
    assert (await luis_ws.pop("q1"))["state"] == "ringing"
    await telephony.publish(call("q1", {"PJSIP/6001": "answered",
                                        "PJSIP/6002": "answered_elsewhere"}, seq=2))
    assert (await ana_ws.pop("q1"))["state"] == "answered"
    closed = await luis_ws.pop("q1")
    assert (closed["state"], closed["reason"]) == ("ended", "answered_elsewhere")


async def test_reconnect_resends_live_pops_only_and_a_second_tab_gets_the_same_pops(
        nodes, agents, users, telephony):
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001", "PJSIP/6101"])
    node = await nodes()
    ana = agents(node, "ana")
    await ana.sign_in()
    first = await ana.socket()
    await telephony.publish(call("live", {"PJSIP/6001": "answered"}, seq=4))
    await telephony.publish(call("gone", {"PJSIP/6101": "ringing"}))
    await telephony.publish(call("gone", {"PJSIP/6101": "ended"}, state="ended", seq=2))
    assert (await first.pop("live"))["state"] == "answered"
    assert (await first.pop("gone"))["state"] == "ringing"
    assert (await first.pop("gone"))["state"] == "ended"
    await first.ws.close()

    again = await ana.socket()
    assert [p["call_id"] for p in again.replayed] == ["live"]
    assert again.replayed[0]["state"] == "answered"
    assert again.synced["call_ids"] == ["live"]

    second_tab = await ana.socket()
    await telephony.publish(call("next", {"PJSIP/6101": "ringing"}))
    assert (await again.pop("next"))["state"] == "ringing"
    assert (await second_tab.pop("next"))["state"] == "ringing"


async def test_linking_in_one_tab_updates_the_other_and_the_number_then_matches(
        nodes, agents, users, index, telephony):
    await index.replace_all([
        record("201", "María López", ["+525511112222"]),
        record("202", "José López", ["+525511112222"]),
    ], source="test")
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"])
    node = await nodes()
    ana = agents(node, "ana")
    await ana.sign_in()
    tab1, tab2 = await ana.socket(), await ana.socket()
    await telephony.publish(call("fam", {"PJSIP/6001": "ringing"}, number="5511112222"))
    pop = await tab1.pop("fam")
    assert pop["match"]["status"] == "many"
    assert {p["id"] for p in pop["match"]["preinstallations"]} == {"201", "202"}
    await tab2.pop("fam")

    response = await ana.link("fam", "202")
    assert response.status == 200, await response.text()
    for tab in (tab1, tab2):
        linked = await tab.pop("fam")
        assert linked["match"]["status"] == "one"
        assert [p["id"] for p in linked["match"]["preinstallations"]] == ["202"]

    # Later updates of the same call keep the link.
    await telephony.publish(call("fam", {"PJSIP/6001": "answered"}, number="5511112222", seq=2))
    assert (await tab1.pop("fam"))["match"]["preinstallations"][0]["id"] == "202"
    # The next call from that number matches directly.
    await telephony.publish(call("fam2", {"PJSIP/6001": "ringing"}, number="+52 55 1111 2222"))
    nxt = await tab1.pop("fam2")
    assert nxt["match"]["status"] == "one"
    assert nxt["match"]["preinstallations"][0]["id"] == "202"


async def test_a_dialer_call_pops_the_record_it_was_placed_for_among_several_on_its_number(
        nodes, agents, users, index, telephony, redis, keys):
    await index.replace_all([
        record("211", "María López", ["+525511112222"]),
        record("212", "José López", ["+525511112222"]),
    ], source="test")
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"])
    node = await nodes()
    ana = agents(node, "ana")
    await ana.sign_in()
    tab = await ana.socket()
    # agent first: the agent's phone rings before the customer's number is known
    ringing = replace(call("dl-1", {"PJSIP/6001": "ringing"}, number=None, direction="outbound",
                           queue=None), variables={"CAMPAIGN_ID": "c1", "PREINST_ID": "212"})
    await redis.hset(keys.dialer_live("c1"), "name", "Documentos <pendientes>")
    await telephony.publish(ringing)
    pop = await tab.pop("dl-1")
    assert [p["id"] for p in pop["match"]["preinstallations"]] == ["212"]
    assert pop["campaign"] == {"name": "Documentos <pendientes>"}  # the page sets it as text
    await telephony.publish(replace(ringing, customer_number="5511112222", seq=2,
                                    agents={"PJSIP/6001": "answered"}, state="answered"))
    answered = await tab.pop("dl-1")
    assert answered["match"]["status"] == "one"
    assert [p["id"] for p in answered["match"]["preinstallations"]] == ["212"]
    async with ana.http.get(f"{node.url}/api/calls/dl-1/script") as response:
        assert response.status == 200
        assert (await response.json())["record"]["id"] == "212"


async def test_link_is_refused_for_calls_not_live_at_the_agent_and_without_csrf(
        nodes, agents, users, index, telephony):
    await index.replace_all([record("301", "Rosa Díaz", ["+525533334444"])], source="test")
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"])
    await users.add("luis", "secreto-123", "agent", ["PJSIP/6002"])
    node = await nodes()
    ana, luis = agents(node, "ana"), agents(node, "luis")
    await ana.sign_in()
    await luis.sign_in()
    await telephony.publish(call("x", {"PJSIP/6001": "ringing"}, number="5533334444"))

    refused = await luis.link("x", "301")
    assert refused.status == 403 and (await refused.json())["error"] == "not_your_call"
    assert (await ana.link("x", "999")).status == 404
    no_csrf = await ana.http.post(f"{node.url}/api/calls/x/link", json={"preinstallation_id": "301"})
    assert no_csrf.status == 403
    bad_body = await ana.http.post(f"{node.url}/api/calls/x/link", data="nope",
                                   headers={"X-CSRF-Token": ana.csrf})
    assert bad_body.status == 400
    assert (await ana.link("x", "301")).status == 200
    await telephony.publish(call("x", {"PJSIP/6001": "ended"}, number="5533334444", seq=2))
    ended = await ana.link("x", "301")
    assert ended.status == 409 and (await ended.json())["error"] == "call_not_live"


async def test_search_finds_records_for_signed_in_agents_only(nodes, agents, users, index):
    await index.replace_all([record("401", "Ángela Ruiz", ["+525544445555"],
                                    email="angela@example.com")], source="test")
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"])
    node = await nodes()
    ana = agents(node, "ana")
    anonymous = await ana.http.get(f"{node.url}/api/preinstallations/search?q=angela")
    assert anonymous.status == 401
    await ana.sign_in()
    response = await ana.http.get(f"{node.url}/api/preinstallations/search?q=angela")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    [found] = (await response.json())["results"]
    assert found["id"] == "401"
    assert found["missing_labels"] == ["INE (frente)", "Comprobante de domicilio"]
