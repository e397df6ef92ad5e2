"""Sign-in, throttling, CSRF, sign-out, and the WebSocket's session and Origin checks."""
from __future__ import annotations

import json
from dataclasses import replace

import aiohttp
import pytest

from screenpop.config import ScreenpopConfig
from tests.screenpop.conftest import TIMEOUT, Node, login_token

FREE_ATTEMPTS = ScreenpopConfig.login_free_attempts


async def test_pages_require_sign_in_and_a_good_password_gets_in(nodes, agents, users):
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"], "Ana Torres")
    node = await nodes()
    ana = agents(node, "ana")
    page = await ana.http.get(f"{node.url}/", allow_redirects=False)
    assert (page.status, page.headers["Location"]) == (302, "/login")

    response = await ana.sign_in()
    assert (response.status, response.headers["Location"]) == (302, "/")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "sp_session=" in cookie
    page = await ana.http.get(f"{node.url}/")
    html = await page.text()
    assert page.status == 200 and "Ana Torres" in html
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "<script>" not in html  # scripts come from /static only
    assert page.headers["Cache-Control"] == "no-store"
    # A signed-in user asking for the form goes to the page.
    again = await ana.http.get(f"{node.url}/login", allow_redirects=False)
    assert again.status == 302


async def test_wrong_password_then_throttled_even_with_the_right_one(nodes, agents, users):
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"])
    node = await nodes()
    ana = agents(node, "ana")
    for _ in range(FREE_ATTEMPTS):
        response = await ana.sign_in("equivocada")
        assert response.status == 401
        assert "Usuario o contraseña incorrectos" in await response.text()
    assert response.headers["Retry-After"] == "30"
    assert "espere 30 segundos" in await response.text()
    throttled = await ana.sign_in()
    assert throttled.status == 429 and 0 < int(throttled.headers["Retry-After"]) <= 30
    assert "Demasiados intentos; espere" in await throttled.text()
    other = agents(node, "nadie")
    assert (await other.sign_in()).status == 401  # unknown user: same answer as a bad password


async def test_login_form_needs_its_csrf_token(nodes, users):
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"])
    node = await nodes()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await login_token(http, node.url)  # gets the cookie, but the form is forged
        forged = await http.post(f"{node.url}/login", allow_redirects=False, data={
            "username": "ana", "password": "secreto-123", "csrf_token": "forged"})
        assert forged.status == 403
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        token = await login_token(http, node.url)
        http.cookie_jar.clear()  # the token without its cookie (another site posting)
        stolen = await http.post(f"{node.url}/login", allow_redirects=False, data={
            "username": "ana", "password": "secreto-123", "csrf_token": token})
        assert stolen.status == 403


async def test_logout_needs_csrf_ends_the_session_and_closes_its_sockets(nodes, agents, users):
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"])
    node = await nodes()
    ana = agents(node, "ana")
    await ana.sign_in()
    sock = await ana.socket()
    refused = await ana.http.post(f"{node.url}/logout", allow_redirects=False,
                                  data={"csrf_token": "nope"})
    assert refused.status == 403
    out = await ana.http.post(f"{node.url}/logout", allow_redirects=False,
                              data={"csrf_token": ana.csrf})
    assert (out.status, out.headers["Location"]) == (302, "/login")
    texts = []
    while (message := await sock.ws.receive(timeout=TIMEOUT)).type == aiohttp.WSMsgType.TEXT:
        texts.append(json.loads(message.data))
    assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 4003
    assert [m["agent"]["state"] for m in texts if m["type"] == "agent_state"] == ["offline"]
    page = await ana.http.get(f"{node.url}/", allow_redirects=False)
    assert page.status == 302


@pytest.mark.parametrize("origin", ["http://evil.example", None], ids=["foreign-origin", "no-origin"])
async def test_websocket_from_another_origin_is_refused_before_upgrade(nodes, agents, users, origin):
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"])
    node = await nodes()
    ana = agents(node, "ana")
    await ana.sign_in()
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await ana.http.ws_connect(f"{node.url}/ws", origin=origin)
    assert refused.value.status == 403


async def test_websocket_without_session_is_refused_before_upgrade(nodes, agents):
    node = await nodes()
    nobody = agents(node, "nobody")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await nobody.http.ws_connect(f"{node.url}/ws", origin=node.url)
    assert refused.value.status == 403
    nobody.http.cookie_jar.update_cookies({"sp_session": "x" * 43})
    with pytest.raises(aiohttp.WSServerHandshakeError) as forged:
        await nobody.http.ws_connect(f"{node.url}/ws", origin=node.url)
    assert forged.value.status == 403


async def test_public_origin_is_accepted(config, redis, index, users, agents):
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"])
    node = await Node(replace(config, public_origin="https://pop.example.mx"), redis, index).start()
    try:
        ana = agents(node, "ana")
        await ana.sign_in()
        ws = await ana.http.ws_connect(f"{node.url}/ws", origin="https://pop.example.mx")
        assert (await ws.receive_json(timeout=TIMEOUT))["type"] == "hello"
        await ws.close()
    finally:
        await node.stop()
