"""Exactly one effect: double clicks, a lost answer, a restart mid-request, an outage."""
from __future__ import annotations

import asyncio
import json

from tests.activation.conftest import CALL_ID, RECORD_ID, post, wait_for

ACTIVATE = f"/api/calls/{CALL_ID}/activate"
POST_FORM = "POST /preinstalacion/activar/{usuario}/{id}/"
FORM_PATH = f"/preinstalacion/activar/{RECORD_ID}@isp-demo/{RECORD_ID}/"


async def operation(pop, op_id: str = "activation") -> dict:
    return (await pop.actions.store.get(CALL_ID, op_id)).public()


async def test_concurrent_double_activation_has_one_effect(agent_on_call, sandbox):
    pop, agent = agent_on_call
    results = await asyncio.gather(*(post(agent, ACTIVATE) for _ in range(4)))
    assert all(status == 200 for status, _ in results)
    await wait_for(lambda: operation(pop), "the operation")
    final = await wait_for(lambda: _final(pop), "activation done")
    assert final["state"] == "done"
    assert sandbox.stats.requests[POST_FORM] == 1
    assert list(sandbox.store.installations) == [RECORD_ID]


async def _final(pop):
    op = await operation(pop)
    return op if op["state"] in ("done", "verified", "failed") else None


async def test_retry_after_a_lost_answer_checks_wisphub_first(agent_on_call, sandbox):
    pop, agent = agent_on_call
    sandbox.faults.add("stall_after", scope="panel", count=1, path=FORM_PATH)
    status, body = await post(agent, ACTIVATE)
    # the POST reached WispHub and took effect; its answer never came
    assert RECORD_ID in sandbox.store.installations
    final = await wait_for(lambda: _final(pop), "the outbox to settle the unknown outcome")
    assert (final["state"], final["reference"]) == ("verified", f"Instalación {RECORD_ID}")
    sandbox.faults.release_stalls()
    assert sandbox.stats.requests[POST_FORM] == 1
    async def events():
        found = [e["event"] for e in await pop.actions.store.audit_entries(CALL_ID)]
        return found if found[-1:] == ["verified"] else None
    # sent once, answered "unknown", looked up only after the in-flight wait: found done
    assert await wait_for(events, "the audit of the look") == ["requested", "sent", "answer",
                                                               "verified"]


async def test_restart_mid_request_sends_once(agent_on_call, sandbox, pops):
    pop, agent = agent_on_call
    sandbox.faults.add("stall_after", scope="panel", count=1, path=FORM_PATH)
    request = asyncio.create_task(post(agent, ACTIVATE))
    await wait_for(lambda: RECORD_ID in sandbox.store.installations, "the POST to reach WispHub")
    await pop.stop()  # the service stops while WispHub has not answered
    request.cancel()
    await asyncio.gather(request, return_exceptions=True)
    sandbox.faults.release_stalls()
    interrupted = await operation(pop)
    assert interrupted["state"] == "unknown"
    again = await pops()  # a new instance: its outbox worker picks the operation up
    final = await wait_for(lambda: _final(again), "the new instance to settle it")
    assert final["state"] == "verified"
    assert sandbox.stats.requests[POST_FORM] == 1


async def test_outage_queues_then_completes_and_pushes_each_state(agent_on_call, sandbox):
    pop, agent = agent_on_call
    socket = await agent.socket()
    port = sandbox.port
    await sandbox.stop()
    status, body = await post(agent, ACTIVATE)
    assert body["operation"]["state"] == "pending"
    assert body["operation"]["queued"] is True
    assert "se reintentará solo" in body["operation"]["hint"]
    listed = await (await agent.http.get(f"{pop.url}/api/calls/{CALL_ID}/operations")).json()
    assert listed["operations"][0]["state"] == "pending"
    await sandbox.start(port=port)
    final = await wait_for(lambda: _final(pop), "the outbox to send it once WispHub is back")
    assert final["state"] == "done"
    assert sandbox.stats.requests[POST_FORM] == 1
    pushed = []
    while not pushed or pushed[-1]["state"] != "done":
        message = await socket.next()
        if message["type"] == "operation":
            pushed.append(message)
    states = [m["state"] for m in pushed]
    assert "pending" in states and states[-1] == "done"
    assert pushed[-1]["reference"] == f"Instalación {RECORD_ID}"
    await socket.ws.close()


async def test_stale_csrf_and_expired_session_do_not_double_the_effect(agent_on_call, sandbox):
    pop, agent = agent_on_call
    await pop.actions.writer.panel.get_page("preinstalaciones/")  # a session exists…
    sandbox.expire_sessions()                                     # …and WispHub drops it
    sandbox.faults.add("csrf_stale", scope="panel", count=1)
    status, body = await post(agent, ACTIVATE)
    assert body["operation"]["state"] == "done", body
    assert sandbox.stats.requests[POST_FORM] == 2  # the refused one, then the real one
    assert list(sandbox.store.installations) == [RECORD_ID]


async def test_every_write_is_audited_without_secrets(agent_on_call, sandbox, redis, keys):
    pop, agent = agent_on_call
    await post(agent, ACTIVATE)
    entries = [json.loads(raw) for raw in await redis.lrange(keys.call_audit(CALL_ID), 0, -1)]
    answer = next(e for e in entries if e["event"] == "answer")
    assert answer["by"] == "ana" and answer["state"] == "done"
    assert answer["sent"]["cliente-ip"] == "10.20.2.10"
    assert answer["answer"] == "HTTP 302 → /Instalaciones/"
    assert all(e["at"] > 0 for e in entries)
    raw = json.dumps(entries)
    assert "csrfmiddlewaretoken" not in raw
