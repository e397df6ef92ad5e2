"""Which preinstallation a call is about: one answer for the pop, the guided call and the writes."""
from __future__ import annotations

from tests.activation.conftest import CALL_ID, RECORD_ID, post

LINKED = 1005  # Luis Fernando, 3312345678: not the caller's number


async def test_a_record_linked_after_the_number_matched_another_is_the_one_activated(
        agent_on_call, sandbox):
    pop, agent = agent_on_call
    script = await agent.http.get(f"{pop.url}/api/calls/{CALL_ID}/script")
    assert (await script.json())["record_id"] == str(RECORD_ID)  # the caller's number: Juan

    linked = await agent.link(CALL_ID, str(LINKED))
    assert linked.status == 200, await linked.text()
    assert [p["id"] for p in (await linked.json())["pop"]["match"]["preinstallations"]] == [
        str(LINKED)]

    status, body = await post(agent, f"/api/calls/{CALL_ID}/activate")
    assert status == 200, body
    assert body["operation"]["reference"] == f"Instalación {LINKED}"
    assert LINKED in sandbox.store.installations
    assert RECORD_ID in sandbox.store.preinstallations  # the number's match was left alone
    # the guided call agrees, also once the linked record has left the pending list
    await pop.index.remove(str(LINKED))
    script = await agent.http.get(f"{pop.url}/api/calls/{CALL_ID}/script")
    assert (await script.json())["record_id"] == str(LINKED)
