"""Agent states, pop acknowledgements and the supervisor's view, over real sockets and Redis."""
from __future__ import annotations

import asyncio
import re

import pytest

from screenpop import agents
from screenpop.agents import AgentSettings, AgentState, AgentStateStore, StateError
from tests.screenpop.conftest import TIMEOUT, call

SETTINGS = AgentSettings(ack_deadline=3.0, wrapup_max=60.0, pause_reasons=("Comida", "Baño"))


async def eventually(check, timeout: float = TIMEOUT):
    """Poll `check` (async, returns a truthy value when done) until it passes or time runs out."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


# ---- pure transitions -------------------------------------------------------------------------
def test_transitions_follow_calls_and_choices():
    start = agents.signed_in(AgentState("ana"), 100.0)
    assert (start.state, start.since) == ("available", 100.0)
    paused = agents.choose(start, "paused", "Comida", 110.0, SETTINGS)
    assert (paused.state, paused.reason) == ("paused", "Comida")
    with pytest.raises(StateError, match="bad_reason"):
        agents.choose(start, "paused", "Siesta", 110.0, SETTINGS)
    with pytest.raises(StateError, match="bad_state"):
        agents.choose(start, "in_call", None, 110.0, SETTINGS)
    ringing = agents.on_call(paused, "c1", "ringing", "ringing", "+52 55", 120.0, SETTINGS)
    assert ringing == paused
    talking = agents.on_call(paused, "c1", "answered", "answered", "+52 55", 130.0, SETTINGS)
    assert (talking.state, talking.call_id, talking.reason) == ("in_call", "c1", None)
    with pytest.raises(StateError, match="in_call"):
        agents.choose(talking, "available", None, 131.0, SETTINGS)
    other = agents.on_call(talking, "c2", "missed", "ended", None, 135.0, SETTINGS)
    assert other == talking
    wrap = agents.on_call(talking, "c1", "ended", "ended", None, 140.0, SETTINGS)
    assert (wrap.state, wrap.wrap_until, wrap.call_id) == ("wrap_up", 200.0, "c1")
    assert agents.expire_wrapup(wrap, 199.9) == wrap
    assert agents.expire_wrapup(wrap, 200.0).state == "available"
    assert agents.choose(wrap, "available", None, 150.0, SETTINGS).state == "available"
    lost = agents.mark_unreachable(wrap, "c9", 160.0)
    assert (lost.unreachable, lost.unreachable_call, lost.state) == (True, "c9", "wrap_up")
    assert agents.mark_reachable(lost).unreachable is False
    assert agents.signed_out(lost, 170.0).state == "offline"


def test_wrap_up_waits_for_the_last_live_call_of_the_agent():
    talking = agents.on_call(agents.signed_in(AgentState("ana"), 100.0), "c1", "answered",
                             "answered", "+52 55 1111 1111", 110.0, SETTINGS)
    both = agents.on_call(talking, "c2", "answered", "answered", "+52 55 2222 2222", 120.0,
                          SETTINGS)
    assert (both.state, both.call_id) == ("in_call", "c2")
    first_gone = agents.on_call(both, "c1", "ended", "ended", None, 130.0, SETTINGS)
    assert (first_gone.state, first_gone.call_id, first_gone.customer) == (
        "in_call", "c2", "+52 55 2222 2222")
    back_to_first = agents.on_call(both, "c2", "ended", "ended", None, 130.0, SETTINGS)
    assert (back_to_first.state, back_to_first.call_id, back_to_first.customer) == (
        "in_call", "c1", "+52 55 1111 1111")
    wrap = agents.on_call(back_to_first, "c1", "ended", "ended", None, 140.0, SETTINGS)
    assert (wrap.state, wrap.call_id, wrap.wrap_until) == ("wrap_up", "c1", 200.0)
    stored = AgentState.from_hash("ana", both.to_hash())
    assert stored == both


def test_the_endpoint_signed_in_with_stays_through_every_state():
    start = agents.signed_in(AgentState("ana"), 100.0, "PJSIP/6001")
    talking = agents.on_call(start, "c1", "answered", "answered", None, 110.0, SETTINGS)
    wrap = agents.on_call(talking, "c1", "ended", "ended", None, 120.0, SETTINGS)
    assert {start.endpoint, talking.endpoint, wrap.endpoint} == {"PJSIP/6001"}
    moved = agents.signed_in(wrap, 130.0, "PJSIP/6002")  # the account's phone changed
    assert (moved.state, moved.endpoint) == ("wrap_up", "PJSIP/6002")
    assert AgentState.from_hash("ana", moved.to_hash()) == moved


def test_settings_from_env():
    settings = AgentSettings.from_env({"ACK_DEADLINE": "1.5", "WRAPUP_MAX_SECONDS": "30",
                                       "PAUSE_REASONS": "Comida, Baño"})
    assert settings == AgentSettings(1.5, 30.0, ("Comida", "Baño"))
    assert AgentSettings.from_env({}) == AgentSettings()


# ---- over the network -------------------------------------------------------------------------
async def test_state_api_and_supervisor_sees_changes_live(nodes, agents, users, redis, keys):
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"], "Ana Torres")
    await users.add("sofia", "secreto-123", "supervisor", [], "Sofía")
    node = await nodes(agent_settings=SETTINGS)
    ana, sofia = agents(node, "ana"), agents(node, "sofia")
    await ana.sign_in()
    await sofia.sign_in()
    watcher = await sofia.socket()

    async def post(body, csrf=None):
        return await ana.http.post(f"{node.url}/api/agent/state", json=body,
                                   headers={"X-CSRF-Token": ana.csrf if csrf is None else csrf})

    assert (await post({"state": "paused", "reason": "Comida"}, csrf="x")).status == 403
    assert (await post({"state": "paused", "reason": "Siesta"})).status == 400
    response = await post({"state": "paused", "reason": "Comida"})
    assert response.status == 200
    assert (await response.json())["agent"]["label"] == "En pausa"
    update = await watcher.next_of("agent_state")
    assert (update["agent"]["username"], update["agent"]["state"], update["agent"]["reason"]) == (
        "ana", "paused", "Comida")
    # the dialer reads the phone to ring from the state hash sign-in wrote
    assert await redis.hget(keys.agent_state("ana"), "endpoint") == '"PJSIP/6001"'

    listed = await sofia.http.get(f"{node.url}/api/agents")
    states = {a["username"]: (a["display_name"], a["state"])
              for a in (await listed.json())["agents"]}
    assert states == {"ana": ("Ana Torres", "paused")}  # a supervisor is not an agent
    assert (await sofia.http.get(f"{node.url}/supervisor")).status == 200


async def test_supervisor_page_and_list_are_refused_to_agents(nodes, agents, users):
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"])
    node = await nodes()
    ana = agents(node, "ana")
    assert (await ana.http.get(f"{node.url}/supervisor", allow_redirects=False)).status == 302
    assert (await ana.http.get(f"{node.url}/api/agents")).status == 401
    await ana.sign_in()
    assert (await ana.http.get(f"{node.url}/supervisor")).status == 403
    assert (await ana.http.get(f"{node.url}/api/agents")).status == 403


async def test_answered_call_puts_the_agent_in_call_then_wrap_up_expires_to_available(
        nodes, agents, users, telephony, redis, keys):
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"])
    node = await nodes(agent_settings=AgentSettings(wrapup_max=0.3))
    ana = agents(node, "ana")
    await ana.sign_in()
    sock = await ana.socket()
    store = AgentStateStore(redis, keys)

    await telephony.publish(call("c1", {"PJSIP/6001": "ringing"}))
    await telephony.publish(call("c1", {"PJSIP/6001": "answered"}, seq=2))
    in_call = await sock.next_of("agent_state")
    assert (in_call["agent"]["state"], in_call["agent"]["call_id"]) == ("in_call", "c1")
    assert in_call["agent"]["customer"] == "+52 55 1234 5678"
    refused = await ana.http.post(f"{node.url}/api/agent/state", json={"state": "available"},
                                  headers={"X-CSRF-Token": ana.csrf})
    assert (refused.status, (await refused.json())["error"]) == (409, "in_call")
    assert await redis.hget(keys.call_agents("c1"), "ana")

    await telephony.publish(call("c1", {"PJSIP/6001": "ended"}, state="ended", seq=3))
    wrap = await sock.next_of("agent_state")
    assert wrap["agent"]["state"] == "wrap_up"
    back = await sock.next_of("agent_state")
    assert back["agent"]["state"] == "available"
    assert (await store.get("ana")).state == "available"
    assert await redis.zscore(keys.wrapup_deadlines, "ana") is None


async def test_signing_in_during_a_call_answered_while_screenpop_was_down_is_en_llamada(
        nodes, agents, users, telephony, redis, keys):
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"])
    # the call rang and was answered before any screenpop node was up to see it
    await telephony.publish(call("c1", {"PJSIP/6001": "ringing"}))
    await telephony.publish(call("c1", {"PJSIP/6001": "answered"}, seq=2))
    node = await nodes()
    ana = agents(node, "ana")
    await ana.sign_in()
    state = await AgentStateStore(redis, keys).get("ana")
    assert (state.state, state.call_id) == ("in_call", "c1")
    refused = await ana.http.post(f"{node.url}/api/agent/state", json={"state": "available"},
                                  headers={"X-CSRF-Token": ana.csrf})
    assert (refused.status, (await refused.json())["error"]) == (409, "in_call")


async def test_wrap_up_starts_only_when_no_call_at_the_agents_endpoint_is_live(
        nodes, agents, users, telephony, redis, keys):
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"])
    node = await nodes(agent_settings=SETTINGS)
    ana = agents(node, "ana")
    await ana.sign_in()
    sock = await ana.socket()
    store = AgentStateStore(redis, keys)

    await telephony.publish(call("c1", {"PJSIP/6001": "answered"}))
    assert (await sock.next_of("agent_state"))["agent"]["call_id"] == "c1"
    # the agent holds c1 and takes a second call at the same endpoint
    await telephony.publish(call("c2", {"PJSIP/6001": "ringing"}, number="5587654321"))
    await telephony.publish(call("c2", {"PJSIP/6001": "answered"}, number="5587654321", seq=2))
    second = await sock.next_of("agent_state")
    assert (second["agent"]["state"], second["agent"]["call_id"]) == ("in_call", "c2")

    await telephony.publish(call("c2", {"PJSIP/6001": "ended"}, number="5587654321",
                                 state="ended", seq=3))
    still = await sock.next_of("agent_state")
    assert (still["agent"]["state"], still["agent"]["call_id"]) == ("in_call", "c1")
    assert still["agent"]["customer"] == "+52 55 1234 5678"
    assert (await store.get("ana")).state == "in_call"

    await telephony.publish(call("c1", {"PJSIP/6001": "ended"}, state="ended", seq=2))
    wrap = await sock.next_of("agent_state")
    assert (wrap["agent"]["state"], wrap["agent"]["call_id"]) == ("wrap_up", "c1")


async def test_ack_latency_is_measured_once_per_pop_and_seen_acks_reach_every_tab(
        nodes, agents, users, telephony):
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"])
    node = await nodes()
    ana = agents(node, "ana")
    await ana.sign_in()
    tab1, tab2 = await ana.socket(), await ana.socket()
    await telephony.publish(call("c1", {"PJSIP/6001": "ringing"}))
    pop = await tab1.pop("c1")
    await tab2.pop("c1")
    await tab1.send_ack("c1", pop["seq"])
    await tab2.send_ack("c1", pop["seq"])

    async def ack_count():
        text = await (await ana.http.get(f"{node.url}/metrics")).text()
        found = re.search(r"^screenpop_pop_ack_seconds_count (\S+)$", text, re.M)
        return found and float(found.group(1))

    await tab2.send_ack("c1", pop["seq"], seen=True)
    relayed = await tab1.next_of("acked")
    assert (relayed["call_id"], relayed["seq"]) == ("c1", pop["seq"])
    assert await eventually(ack_count) == 1.0  # three acks of one pop, measured once

    await tab1.ws.send_json({"type": "ack", "call_id": "c1", "seq": "x"})
    assert (await tab1.next_of("error"))["code"] == "bad_ack"


async def test_agent_whose_browser_never_acks_is_marked_unreachable_until_it_acks(
        nodes, agents, users, telephony, redis, keys, caplog):
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"])
    await users.add("sofia", "secreto-123", "supervisor", [])
    node = await nodes(agent_settings=AgentSettings(ack_deadline=0.2))
    ana, sofia = agents(node, "ana"), agents(node, "sofia")
    await ana.sign_in()
    await sofia.sign_in()
    silent, watcher = await ana.socket(), await sofia.socket()
    store = AgentStateStore(redis, keys)

    await telephony.publish(call("c7", {"PJSIP/6001": "ringing"}))
    pop = await silent.pop("c7")
    while not (update := await watcher.next_of("agent_state"))["agent"]["unreachable"]:
        pass
    assert (update["agent"]["username"], update["agent"]["unreachable_call"]) == ("ana", "c7")
    assert "agent unreachable agent=ana call=c7" in caplog.text
    metrics = await (await ana.http.get(f"{node.url}/metrics")).text()
    assert re.search(r"^screenpop_pops_unacknowledged_total 1\.0$", metrics, re.M)

    await silent.send_ack("c7", pop["seq"])
    cleared = await watcher.next_of("agent_state")
    assert cleared["agent"]["unreachable"] is False
    assert (await store.get("ana")).unreachable is False


async def test_acked_pop_does_not_mark_the_agent_unreachable(nodes, agents, users, telephony,
                                                             redis, keys):
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"])
    node = await nodes(agent_settings=AgentSettings(ack_deadline=0.2))
    ana = agents(node, "ana")
    await ana.sign_in()
    sock = await ana.socket()
    await _ack_one_call_then_leave_a_sentinel(sock, telephony, "ok")
    store = AgentStateStore(redis, keys)
    state = await eventually(lambda: _unreachable(store, "ana"))
    assert state.unreachable_call == "sentinel"


async def test_signed_in_agent_with_no_browser_open_is_marked_unreachable_when_rung(
        nodes, agents, users, telephony, redis, keys):
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"])
    await users.add("sofia", "secreto-123", "supervisor", [])
    node = await nodes(agent_settings=AgentSettings(ack_deadline=0.2))
    ana, sofia = agents(node, "ana"), agents(node, "sofia")
    await ana.sign_in()  # signed in, but no tab open: nothing on any node can show the pop
    await sofia.sign_in()
    watcher = await sofia.socket()

    await telephony.publish(call("nobody-looking", {"PJSIP/6001": "ringing"}))
    while not (update := await watcher.next_of("agent_state"))["agent"]["unreachable"]:
        pass
    assert (update["agent"]["username"], update["agent"]["unreachable_call"],
            update["agent"]["state"]) == ("ana", "nobody-looking", "available")
    metrics = await (await sofia.http.get(f"{node.url}/metrics")).text()
    assert re.search(r"^screenpop_pops_unacknowledged_total 1\.0$", metrics, re.M)


async def test_ack_from_a_tab_on_another_node_counts_and_only_one_node_checks(
        nodes, agents, users, telephony, redis, keys):
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"])
    settings = AgentSettings(ack_deadline=0.2)
    first, second = await nodes(agent_settings=settings), await nodes(agent_settings=settings)
    ana = agents(second, "ana")
    await ana.sign_in()
    sock = await ana.socket()
    await _ack_one_call_then_leave_a_sentinel(sock, telephony, "acked-on-2")
    store = AgentStateStore(redis, keys)
    state = await eventually(lambda: _unreachable(store, "ana"))
    assert state.unreachable_call == "sentinel"
    unacked = 0.0
    for node in (first, second):
        metrics = await (await ana.http.get(f"{node.url}/metrics")).text()
        unacked += float(re.search(r"^screenpop_pops_unacknowledged_total (\S+)$", metrics,
                                   re.M).group(1))
    assert unacked == 1.0  # the sentinel, counted once across both nodes


async def _ack_one_call_then_leave_a_sentinel(sock, telephony, acked_call: str) -> None:
    """Ring PJSIP/6001 with a call the agent acks, then with "sentinel", which nobody acks: the
    sentinel must be the first call to mark the agent unreachable."""
    await telephony.publish(call(acked_call, {"PJSIP/6001": "ringing"}))
    await sock.send_ack(acked_call, (await sock.pop(acked_call))["seq"])
    await telephony.publish(call("sentinel", {"PJSIP/6001": "ringing"}))
    await sock.pop("sentinel")


async def _unreachable(store: AgentStateStore, username: str):
    state = await store.get(username)
    return state if state.unreachable else None
