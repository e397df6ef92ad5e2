"""Sign-in throttling on a real node over real Redis: parallel bursts, per-address waits,
trusted proxies and growing delays."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace

import aiohttp

from screenpop.config import ScreenpopConfig
from tests.screenpop.conftest import PASSWORD, TIMEOUT, Node, login_token

FREE_ATTEMPTS = ScreenpopConfig.login_free_attempts


@dataclass
class Attempt:
    status: int
    retry_after: int | None
    text: str
    signed_in: bool


class Browser:
    """One sign-in form, from a chosen local address (Linux answers on all of 127/8)."""

    def __init__(self, node: Node, address: str = "127.0.0.1") -> None:
        self.node = node
        self.http = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            connector=aiohttp.TCPConnector(local_addr=(address, 0), force_close=True))
        self.token = ""

    async def open_form(self) -> Browser:
        self.token = await login_token(self.http, self.node.url)
        return self

    async def submit(self, username: str, password: str, headers: dict | None = None) -> Attempt:
        async with self.http.post(f"{self.node.url}/login", allow_redirects=False,
                                  headers=headers, data={"username": username,
                                                         "password": password,
                                                         "csrf_token": self.token}) as response:
            retry_after = response.headers.get("Retry-After")
            return Attempt(response.status, int(retry_after) if retry_after else None,
                           await response.text(), "sp_session" in response.cookies)

    async def close(self) -> None:
        await self.http.close()


async def sign_in(node: Node, username: str, password: str, address: str = "127.0.0.1",
                  headers: dict | None = None) -> Attempt:
    browser = await Browser(node, address).open_form()
    try:
        return await browser.submit(username, password, headers)
    finally:
        await browser.close()


async def test_a_parallel_burst_checks_at_most_the_free_attempts(nodes, users):
    await users.add("ana", PASSWORD, "agent", ["PJSIP/6001"])
    node = await nodes()
    browsers = await asyncio.gather(*(Browser(node).open_form() for _ in range(50)))
    try:
        passwords = ["equivocada"] * 49 + [PASSWORD]
        results = await asyncio.gather(*(b.submit("ana", p) for b, p in zip(browsers, passwords)))
    finally:
        await asyncio.gather(*(b.close() for b in browsers))
    checked = [r for r in results if r.status != 429]
    assert len(checked) <= FREE_ATTEMPTS, [r.status for r in results]
    refused = [r for r in results if r.status == 429]
    assert len(refused) >= 50 - FREE_ATTEMPTS
    assert all(not r.signed_in and r.retry_after and r.retry_after > 0 for r in refused)
    assert "Demasiados intentos; espere" in refused[0].text
    right = results[-1]
    assert right.status in (302, 429)
    assert right.signed_in == (right.status == 302)  # got in only as one of the checked few
    if right.status == 429:
        # Throttled now: the right password does not get in either.
        again = await sign_in(node, "ana", PASSWORD)
        assert again.status == 429 and not again.signed_in
        assert "Demasiados intentos; espere" in again.text and again.retry_after > 0


async def test_an_attacker_elsewhere_does_not_lock_the_agent_out(nodes, users):
    await users.add("ana", PASSWORD, "agent", ["PJSIP/6001"])
    node = await nodes()
    for _ in range(FREE_ATTEMPTS):
        assert (await sign_in(node, "ana", "adivinanza", "127.0.0.2")).status == 401
    blocked = await sign_in(node, "ana", PASSWORD, "127.0.0.2")
    assert blocked.status == 429 and not blocked.signed_in
    # A forged X-Forwarded-For is not believed: no proxy is configured.
    forged = await sign_in(node, "ana", PASSWORD, "127.0.0.2",
                           headers={"X-Forwarded-For": "198.51.100.7"})
    assert forged.status == 429

    real = await sign_in(node, "ana", PASSWORD, "127.0.0.1")
    assert real.status == 302 and real.signed_in


async def test_behind_a_trusted_proxy_the_forwarded_client_is_throttled(config, redis, index,
                                                                         users):
    await users.add("ana", PASSWORD, "agent", ["PJSIP/6001"])
    node = await Node(replace(config, trusted_proxies=("127.0.0.1",)), redis, index).start()
    try:
        attacker = {"X-Forwarded-For": "203.0.113.9"}
        for _ in range(FREE_ATTEMPTS):
            assert (await sign_in(node, "ana", "adivinanza", headers=attacker)).status == 401
        assert (await sign_in(node, "ana", PASSWORD, headers=attacker)).status == 429
        # A client spoofing the header before the proxy appends the real address is the
        # address the proxy saw.
        spoofed = {"X-Forwarded-For": "192.0.2.1, 203.0.113.9"}
        assert (await sign_in(node, "ana", PASSWORD, headers=spoofed)).status == 429
        agent = {"X-Forwarded-For": "203.0.113.10"}
        assert (await sign_in(node, "ana", PASSWORD, headers=agent)).status == 302
        # An address the proxy is not trusted from keeps its own peer address.
        assert (await sign_in(node, "ana", PASSWORD, "127.0.0.3", headers=attacker)).status == 302
    finally:
        await node.stop()


async def test_waits_double_with_each_further_failure(config, redis, index, users):
    await users.add("ana", PASSWORD, "agent", ["PJSIP/6001"])
    node = await Node(replace(config, login_free_attempts=2, login_first_delay=1.0), redis,
                      index).start()
    try:
        async def failure() -> Attempt:
            deadline = time.monotonic() + TIMEOUT
            while True:
                attempt = await sign_in(node, "ana", "equivocada")
                if attempt.status != 429:
                    return attempt
                assert time.monotonic() < deadline, "the wait never ended"
                await asyncio.sleep(0.2)

        failures = [await failure() for _ in range(4)]
        assert [f.status for f in failures] == [401] * 4
        assert [f.retry_after for f in failures] == [None, 1, 2, 4]
        assert "espere 4 segundos" in failures[-1].text
        deadline = time.monotonic() + TIMEOUT
        while (right := await sign_in(node, "ana", PASSWORD)).status == 429:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.2)
        assert right.status == 302
        # The right password clears the account's count at this address.
        assert (await sign_in(node, "ana", "equivocada")).retry_after is None
    finally:
        await node.stop()
