"""Who may act on a call, through every /api/calls/{id}/… route of the real app over HTTP, with
the call updates the tracker makes of the synthetic Asterisk traces (ringall answered by the other
agent, blind and attended transfer), after the call ended, and for calls that never existed."""
from __future__ import annotations

import json

import aiohttp
import pytest

from common.envelope import CallUpdate
from tests.activation import samples
from tests.activation.conftest import wait_for
from tests.screenpop.conftest import PASSWORD, Agent, Telephony
from tests.telephony.replay import SYNTHETIC, feed_all, messages, tracker

ANA, LUIS = "SIP/6001", "SIP/6002"  # the trace's first and second queue members
WRITES = ("documents", "activate", "data", "services", "retry", "progress", "link")
READS = ("operations", "script")
ACCESS_ERRORS = {"not_your_call", "read_only", "unknown_call", "bad_call_id"}
PNG = samples.png()


def trace(name: str) -> list[CallUpdate]:
    return feed_all(tracker("SIP/600*"), messages(SYNTHETIC / f"{name}.txt"))


async def attempt(agent: Agent, call_id: str, route: str) -> tuple[int, dict]:
    base = f"{agent.node.url}/api/calls/{call_id}"
    headers = {"X-CSRF-Token": agent.csrf}
    if route in READS:
        response = await agent.http.get(f"{base}/{route}")
    elif route == "documents":
        form = aiohttp.FormData()
        form.add_field("kind", "dni_front")
        form.add_field("file", PNG, filename="ine.png", content_type="image/png")
        response = await agent.http.post(f"{base}/documents", data=form, headers=headers)
    elif route == "retry":
        response = await agent.http.post(f"{base}/operations/activation/retry", headers=headers)
    elif route == "progress":
        response = await agent.http.post(f"{base}/progress", json={"step": "cobertura"},
                                         headers=headers)
    elif route == "link":
        response = await agent.http.post(f"{base}/link", json={"preinstallation_id": "1001"},
                                         headers=headers)
    else:
        response = await agent.http.post(f"{base}/{route}", headers=headers)
    return response.status, await response.json()


def access_error(status: int, body: dict) -> str | None:
    return body.get("error") if status in (400, 403, 404) and body.get("error") in ACCESS_ERRORS \
        else None


def last_holders(updates: list[CallUpdate]) -> list[str]:
    """The endpoints that answered in the latest update where any had."""
    held = [u for u in updates if "answered" in u.agents.values()]
    return sorted(ep for ep, leg in held[-1].agents.items() if leg == "answered") if held else []


@pytest.fixture
async def floor(redis, keys, pops, users):
    """A node with the write-back, agents ana (SIP/6001) and luis (SIP/6002) and supervisor
    sara signed in, and `play(updates)`: the updates not played yet go to Redis as telephony
    writes them, and the node has routed them."""
    store = users
    await store.add("ana", PASSWORD, "agent", [ANA], "Ana")
    await store.add("luis", PASSWORD, "agent", [LUIS], "Luis")
    await store.add("sara", PASSWORD, "supervisor", [], "Sara")
    node = await pops()
    signed = {}
    for name in ("ana", "luis", "sara"):
        signed[name] = Agent(node, name)
        assert (await signed[name].sign_in()).status == 302
    telephony, played = Telephony(redis, keys), []

    async def play(updates: list[CallUpdate]) -> None:
        for update in updates[len(played):]:
            await telephony.publish(update)
            played.append(update)
        call_id, holders = updates[0].call_id, last_holders(updates)
        await wait_for(lambda: _holders_are(redis, keys, call_id, holders),
                       f"holders {holders} recorded")

    yield signed, play
    for agent in signed.values():
        await agent.close()


async def _holders_are(redis, keys, call_id: str, holders: list[str]) -> bool:
    raw = await redis.get(keys.call_holders(call_id))
    return (json.loads(raw) if raw else []) == holders


async def assert_refused(agent: Agent, call_id: str, routes, code: str) -> None:
    for route in routes:
        status, body = await attempt(agent, call_id, route)
        assert (status, body.get("error")) == ({"bad_call_id": 400, "unknown_call": 404}.get(
            code, 403), code), (agent.username, route, body)
        assert body.get("message"), body  # said in Spanish, for the agent


async def assert_allowed(agent: Agent, call_id: str, routes) -> None:
    for route in routes:
        status, body = await attempt(agent, call_id, route)
        assert access_error(status, body) is None, (agent.username, route, status, body)


async def test_an_agent_whose_phone_only_rang_can_do_nothing_with_the_call(floor, redis, keys):
    agents, play = floor
    updates = trace("queue-ringall-other-answers")
    call_id = updates[0].call_id
    answered = next(i for i, u in enumerate(updates) if u.state == "answered")
    await play(updates[:answered + 1])
    await assert_refused(agents["ana"], call_id, WRITES + READS, "not_your_call")
    await assert_allowed(agents["luis"], call_id, WRITES + READS)
    await assert_allowed(agents["sara"], call_id, READS)
    await assert_refused(agents["sara"], call_id, WRITES, "read_only")

    await play(updates)  # the call ends
    await assert_refused(agents["ana"], call_id, WRITES + READS, "not_your_call")
    await redis.delete(keys.call(call_id))  # the call's state expires (two minutes after the end)
    await assert_refused(agents["ana"], call_id, WRITES + READS, "not_your_call")
    # its holder finishes the wrap-up of their own call
    await assert_allowed(agents["luis"], call_id, READS + ("documents", "data", "progress"))


@pytest.mark.parametrize("name", ["blind-transfer", "attended-transfer"])
async def test_after_a_transfer_the_new_holder_acts_and_the_previous_one_only_reads(
        floor, redis, keys, name):
    agents, play = floor
    updates = trace(name)
    call_id = updates[0].call_id
    handed = next(i for i, u in enumerate(updates) if u.agents.get(ANA) == "transferred"
                  and u.agents.get(LUIS) == "answered")
    await play(updates[:2])  # ana answered
    await assert_allowed(agents["ana"], call_id, ("progress", "operations"))
    await assert_refused(agents["luis"], call_id, WRITES + READS, "not_your_call")

    await play(updates[:handed + 1])
    await assert_refused(agents["ana"], call_id, WRITES, "read_only")
    await assert_allowed(agents["ana"], call_id, READS)
    await assert_allowed(agents["luis"], call_id, WRITES + READS)

    await play(updates)
    await redis.delete(keys.call(call_id))
    await assert_refused(agents["ana"], call_id, WRITES, "read_only")
    await assert_allowed(agents["ana"], call_id, READS)
    await assert_allowed(agents["luis"], call_id, READS + ("documents", "progress"))


async def test_calls_that_never_existed_or_are_not_call_ids(floor):
    agents, _ = floor
    for name in ("ana", "sara"):
        await assert_refused(agents[name], "1795499999.99", WRITES + READS, "unknown_call")
        await assert_refused(agents[name], "a%20b", WRITES + READS, "bad_call_id")
        await assert_refused(agents[name], "%F0%9F%98%80", WRITES + READS, "bad_call_id")
        await assert_refused(agents[name], "x" * 81, WRITES + READS, "bad_call_id")

