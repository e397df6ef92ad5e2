"""Ending sessions closes every socket of them at once: sign-out in the production process (on
uvloop), and `screenpop users remove|add` from another process, on every node."""
from __future__ import annotations

import asyncio

import aiohttp
import pytest
from playwright.async_api import expect

from tests.screenpop.conftest import PASSWORD, TIMEOUT, Agent, Socket
from tests.screenpop.service_process import ScreenpopProcess
from tests.screenpop.test_browser import sign_in as browser_sign_in
from tests.screenpop.test_users_cli import run_cli

CLOSE_SESSION_ENDED = 4003


async def browser_like_socket(agent: Agent, url: str) -> Socket:
    """A socket as browsers open it: with permessage-deflate (which changes the server's send
    path and timing)."""
    ws = await agent.http.ws_connect(f"{url}/ws", origin=url, compress=15,
                                     timeout=aiohttp.ClientWSTimeout(ws_close=2.0))
    sock = Socket(ws)
    sock.hello = await sock.expect("hello")
    await sock.next_of("synced")
    return sock


async def close_code(sock: Socket) -> int | str:
    """The close code the server sends, skipping messages; "open" when none comes in time."""
    while True:
        try:
            message = await sock.ws.receive(timeout=TIMEOUT)
        except TimeoutError:
            return "open"
        if message.type != aiohttp.WSMsgType.TEXT:
            return message.data


@pytest.fixture
async def service(redis_url, keys, sandbox, tmp_path, database):
    process = await ScreenpopProcess(redis_url, keys.prefix, sandbox, tmp_path, database).start()
    yield process
    await process.stop()


async def test_logout_closes_every_tab_of_the_session_on_uvloop(service, users):
    await users.add("ana", PASSWORD, "agent", ["PJSIP/6001"])
    for _ in range(3):  # the lost close depended on timing: a few rounds catch it every time
        ana = Agent(service, "ana")
        try:
            assert (await ana.sign_in()).status == 302
            tabs = [await browser_like_socket(ana, service.url) for _ in range(4)]
            out = await ana.http.post(f"{service.url}/logout", allow_redirects=False,
                                      data={"csrf_token": ana.csrf})
            assert out.status == 302
            codes = await asyncio.gather(*(close_code(tab) for tab in tabs))
            assert codes == [CLOSE_SESSION_ENDED] * 4
        finally:
            await ana.close()


async def test_removing_an_account_ends_its_sessions_on_every_node(
        nodes, agents, users, redis_url, redis, keys, database):
    await users.add("ana", PASSWORD, "agent", ["PJSIP/6001"])
    await users.add("sofia", PASSWORD, "supervisor", [])
    first, second = await nodes(), await nodes()
    ana_here, ana_there = agents(first, "ana"), agents(second, "ana")
    await ana_here.sign_in()
    await ana_there.sign_in()
    tabs = [await ana_here.socket(), await ana_there.socket(), await ana_there.socket(first)]
    sofia = agents(second, "sofia")
    await sofia.sign_in()
    watching = await sofia.socket()
    listing = await (await sofia.http.get(f"{second.url}/api/agents")).json()
    assert "ana" in [a["username"] for a in listing["agents"]]

    code, _, err = await run_cli(redis_url, keys.prefix, "remove", "ana", database=database)
    assert code == 0, err

    assert await asyncio.gather(*(close_code(tab) for tab in tabs)) == [CLOSE_SESSION_ENDED] * 3
    for ana in (ana_here, ana_there):
        page = await ana.http.get(f"{ana.node.url}/", allow_redirects=False)
        assert (page.status, page.headers["Location"]) == (302, "/login")
    gone = await watching.next_of("agent_state")
    assert gone["agent"] == {"username": "ana", "removed": True}
    listing = await (await sofia.http.get(f"{second.url}/api/agents")).json()
    assert "ana" not in [a["username"] for a in listing["agents"]]
    assert not [key async for key in redis.scan_iter(match=f"{keys.prefix}:session:*")
                if (await redis.hget(key, "username")) == "ana"]


async def test_a_new_password_ends_the_old_sessions(nodes, agents, users, redis_url, keys,
                                                     database):
    await users.add("ana", PASSWORD, "agent", ["PJSIP/6001"])
    node = await nodes()
    ana = agents(node, "ana")
    await ana.sign_in()
    tab = await ana.socket()

    code, _, err = await run_cli(redis_url, keys.prefix, "add", "ana", "--password",
                                 "otra-clave-9", "--endpoint", "PJSIP/6001", database=database)
    assert code == 0, err

    assert await close_code(tab) == CLOSE_SESSION_ENDED
    assert (await ana.http.get(f"{node.url}/", allow_redirects=False)).status == 302
    assert (await agents(node, "ana").sign_in(PASSWORD)).status == 401
    assert (await agents(node, "ana").sign_in("otra-clave-9")).status == 302


@pytest.mark.browser
async def test_a_removed_agent_leaves_the_supervisor_page(browser, nodes, users, redis_url,
                                                          keys, database):
    await users.add("ana", PASSWORD, "agent", ["PJSIP/6001"])
    await users.add("sofia", PASSWORD, "supervisor", [])
    node = await nodes()
    agent = await (await browser.new_context()).new_page()
    await browser_sign_in(agent, node, "ana")
    boss = await (await browser.new_context()).new_page()
    await browser_sign_in(boss, node, "sofia")
    await boss.goto(f"{node.url}/supervisor")
    row = boss.locator('tr[data-agent="ana"]')
    await expect(row).to_have_count(1)

    code, _, err = await run_cli(redis_url, keys.prefix, "remove", "ana", database=database)
    assert code == 0, err

    await expect(row).to_have_count(0)
    await expect(agent).to_have_url(f"{node.url}/login")
    await boss.reload()
    await expect(boss.locator("#conn")).to_have_attribute("data-conn", "on")
    await expect(row).to_have_count(0)
