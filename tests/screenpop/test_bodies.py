"""Hostile JSON bodies and call ids on every JSON route: a 400 with a Spanish message, never a
500 with a traceback."""
from __future__ import annotations

import pytest

from screenpop.web.bodies import BadBody, parse_json, valid_call_id
from tests.screenpop.conftest import PASSWORD

DEEP = b"[" * 20000 + b"]" * 20000
BAD_BODIES = {
    "deep": DEEP,
    "deep-objects": b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "lone-surrogate": b'{"state": "\\ud800", "reason": "x"}',
    "surrogate-key": b'{"\\udfff": 1}',
    "not-utf8": b'{"state": "\xff\xfe"}',
    "nan": b'{"state": "paused", "reason": NaN}',
    "huge-number": b'{"step": 1e999}',
    "endless-digits": b'{"step": ' + b"9" * 5000 + b"}",
    "truncated": b'{"state": ',
    "empty": b"",
}
ROUTES = ["/api/agent/state", "/api/calls/c1/link", "/api/calls/c1/progress"]


@pytest.mark.parametrize("name", BAD_BODIES)
def test_unusable_bodies_are_refused_with_a_reason(name):
    with pytest.raises(BadBody) as refused:
        parse_json(BAD_BODIES[name])
    assert str(refused.value)  # a sentence for the user


def test_plain_json_passes_untouched():
    value = {"step": 3, "answers": {"nombre": "José Ñúñez 🚀", "lista": [[1, 2.5], None, True]}}
    assert parse_json(b'{"step": 3, "answers": {"nombre": "Jos\\u00e9 \xc3\x91\xc3\xba\xc3\xb1ez '
                      b'\\ud83d\\ude80", "lista": [[1, 2.5], null, true]}}') == value
    assert parse_json(b"[" * 20 + b"]" * 20) is not None
    with pytest.raises(BadBody):
        parse_json(b"[" * 21 + b"]" * 21)


@pytest.mark.parametrize("call_id", ["1795495097.2", "asterisk-b-1795495097.41", "c1"])
def test_real_call_ids_are_valid(call_id):
    assert valid_call_id(call_id)


async def test_every_json_route_answers_400_in_spanish(nodes, agents, users):
    await users.add("ana", PASSWORD, "agent", ["PJSIP/6001"])
    node = await nodes()
    ana = agents(node, "ana")
    await ana.sign_in()
    for route in ROUTES:
        for name, body in BAD_BODIES.items():
            response = await ana.http.post(f"{node.url}{route}", data=body, headers={
                "X-CSRF-Token": ana.csrf, "Content-Type": "application/json"})
            assert response.status == 400, (route, name, await response.text())
            answer = await response.json()
            assert answer["error"] == "bad_json" and answer["message"], (route, name)
    ok = await ana.http.post(f"{node.url}/api/agent/state", json={"state": "paused",
                                                                  "reason": "Baño"},
                             headers={"X-CSRF-Token": ana.csrf})
    assert ok.status == 200


@pytest.mark.parametrize("call_id", ["%ED%A0%80", "%FF", "x" * 300, "a%20b", "..%2F..%2Fetc",
                                     "%00", "-1"])
@pytest.mark.parametrize("method,route", [("GET", "script"), ("POST", "progress"),
                                          ("POST", "link"), ("POST", "activate"),
                                          ("GET", "operations")])
async def test_a_call_id_of_the_wrong_shape_is_a_400(nodes, agents, users, call_id, method,
                                                     route):
    await users.add("ana", PASSWORD, "agent", ["PJSIP/6001"])
    node = await nodes()
    ana = agents(node, "ana")
    await ana.sign_in()
    response = await ana.http.request(method, f"{node.url}/api/calls/{call_id}/{route}",
                                      json={"step": 1}, headers={"X-CSRF-Token": ana.csrf})
    assert response.status == 400, await response.text()
    answer = await response.json()
    assert answer["error"] == "bad_call_id" and "identificador" in answer["message"]
