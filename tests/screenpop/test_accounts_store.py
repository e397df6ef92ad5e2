"""Accounts in PostgreSQL: the copy of the accounts an earlier version kept in Redis, and a node
that keeps serving its directory (pops, signed-in pages) while the database is away."""
from __future__ import annotations

import json

import aiohttp
import pytest
from argon2 import PasswordHasher

from common.db.pool import LazyPool
from screenpop.users import AccountsUnavailable, UserStore
from tests.screenpop.conftest import FAST_HASHER, PASSWORD, Node, call, login_token
from tests.screenpop.test_users_cli import accounts, run_cli

GONE = "postgresql://127.0.0.1:1/gone"


async def write_old_account(redis, keys, username: str, password: str | None, role: str,
                            endpoints, display_name: str) -> None:
    """An account as the Redis-backed store of earlier versions wrote it."""
    fields = {"role": role, "endpoints": json.dumps(endpoints), "display_name": display_name}
    if password is not None:
        fields["password_hash"] = PasswordHasher(time_cost=1, memory_cost=1024).hash(password)
    await redis.hset(keys.user(username), mapping=fields)
    await redis.sadd(keys.users, username)
    for endpoint in endpoints:
        await redis.sadd(keys.endpoint_agents(endpoint), username)


async def test_migrate_from_redis_copies_once_and_reports_what_it_did(
        redis_url, redis, keys, database, users, nodes, agents):
    await write_old_account(redis, keys, "ana", "clave-vieja-1", "agent", ["PJSIP/6001"],
                            "Ana Torres")
    await write_old_account(redis, keys, "sara", "clave-sara-1", "supervisor", [], "Sara")
    await write_old_account(redis, keys, "rota", None, "agent", [], "Sin contraseña")
    await write_old_account(redis, keys, "rara", "clave-rara-1", "jefe", [], "Rol raro")
    await users.add("sara", "clave-nueva-2", "qa", [], "Sara Nueva")  # already in PostgreSQL
    old_sara_hash = (await accounts(database))["sara"]["password_hash"]

    code, out, err = await run_cli(redis_url, keys.prefix, "migrate-from-redis", database=database)
    assert code == 0, err
    lines = out.splitlines()
    assert "copiada: ana" in lines
    assert "ya estaba en PostgreSQL (no se tocó): sara" in lines
    assert any(line.startswith("omitida: rota: ") and "argon2" in line for line in lines)
    assert any(line.startswith("omitida: rara: ") and "rol desconocido" in line for line in lines)
    assert "1 copiadas, 1 ya estaban, 2 omitidas" in lines[-1] and "Redis no se modificó" in lines[-1]

    stored = await accounts(database)
    assert set(stored) == {"ana", "sara"}
    assert stored["ana"]["role"] == "agent" and stored["ana"]["endpoints"] == ["PJSIP/6001"]
    assert stored["ana"]["display_name"] == "Ana Torres" and stored["ana"]["active"]
    assert stored["sara"]["password_hash"] == old_sara_hash and stored["sara"]["role"] == "qa"
    assert await redis.exists(keys.user("ana"))  # Redis only read

    # run again: nothing more to copy
    code, out, err = await run_cli(redis_url, keys.prefix, "migrate-from-redis", database=database)
    assert code == 0, err
    assert "0 copiadas, 2 ya estaban, 2 omitidas" in out.splitlines()[-1]

    # the copied hash signs ana in with her old password, and her phone pops on her screen
    node = await nodes()
    ana = agents(node, "ana")
    assert (await ana.sign_in("clave-vieja-1")).status == 302
    assert (await ana.socket()).hello["user"]["display_name"] == "Ana Torres"


async def test_a_node_keeps_its_directory_while_the_database_is_away(
        config, redis, keys, index, database, users, agents, telephony):
    await users.add("ana", PASSWORD, "agent", ["PJSIP/6001"], "Ana")
    pool = LazyPool(database, max_size=2)
    store = UserStore(pool, redis, keys, FAST_HASHER)
    node = await Node(config, redis, index, users=store).start()
    try:
        ana = agents(node, "ana")
        assert (await ana.sign_in()).status == 302
        sock = await ana.socket()

        await pool.close()
        pool.url = GONE  # the database goes away
        store.forget()  # as if an account had changed meanwhile: the node must read again
        assert await store.agents_of("PJSIP/6001") == {"ana"}  # its last copy
        await telephony.publish(call("c1", {"PJSIP/6001": "ringing"}))
        assert (await sock.pop("c1"))["state"] == "ringing"
        page = await ana.http.get(f"{node.url}/")
        assert page.status == 200  # signed-in pages go on from the node's copy

        # signing in needs the password hash: a clear Spanish message, not a crash
        other = agents(node, "ana")
        response = await other.sign_in()
        assert response.status == 503
        assert "la base de datos de cuentas no responde" in await response.text()

        # back (the pool made while the address was wrong goes: in a real outage the address
        # stays and asyncpg's pool connects again by itself)
        pool.url = database
        await pool.close()
        assert (await agents(node, "ana").sign_in()).status == 302
    finally:
        await node.stop()
        await pool.close()


async def test_a_node_that_never_read_the_accounts_says_so_in_spanish(
        config, redis, keys, index, users):
    await users.add("ana", PASSWORD, "agent", ["PJSIP/6001"], "Ana")
    store = UserStore(LazyPool(GONE), redis, keys, FAST_HASHER)
    with pytest.raises(AccountsUnavailable):
        await store.agents_of("PJSIP/6001")
    node = await Node(config, redis, index, users=store).start()
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            token = await login_token(http, node.url)
            response = await http.post(f"{node.url}/login", allow_redirects=False, data={
                "username": "ana", "password": PASSWORD, "csrf_token": token})
            assert response.status == 503
            assert "Intente de nuevo en unos segundos" in await response.text()
    finally:
        await node.stop()


async def test_disabled_accounts_cannot_sign_in_and_ring_nothing(nodes, agents, users, telephony):
    await users.add("ana", PASSWORD, "agent", ["PJSIP/6001"], "Ana")
    await users.add("beto", PASSWORD, "agent", ["PJSIP/6001"], "Beto")
    node = await nodes()
    beto = agents(node, "beto")
    assert (await beto.sign_in()).status == 302
    beto_sock = await beto.socket()
    assert await users.set_active("ana", False)
    assert (await agents(node, "ana").sign_in()).status == 401
    await telephony.publish(call("c2", {"PJSIP/6001": "ringing"}))
    assert (await beto_sock.pop("c2"))["call_id"] == "c2"
    assert await users.agents_of("PJSIP/6001") == {"beto"}
    assert not await users.set_active("nadie", False)


async def test_unknown_and_wrong_passwords_are_refused_alike(users):
    await users.add("ana", PASSWORD, "agent", [], "Ana")
    assert await users.verify("ana", "otra-clave") is None
    assert await users.verify("nadie", PASSWORD) is None
    assert (await users.verify("ana", PASSWORD)).display_name == "Ana"
