import json

import pytest

from common.envelope import CallUpdate, EnvelopeError


def sample() -> CallUpdate:
    return CallUpdate(call_id="1700000000.12", direction="inbound", state="ringing",
                      customer_number="5215512345678",
                      agents={"PJSIP/6001": "ringing", "PJSIP/6002": "ringing"}, queue="ventas",
                      started_at=1700000000.5, event_at=1700000001.25,
                      variables={"CAMPAIGN_ID": "c1"}, seq=3)


def test_round_trip_keeps_every_field():
    update = sample()
    data = json.loads(update.to_json())
    assert data["type"] == "call" and data["version"] == 1
    assert CallUpdate.from_json(update.to_json()) == update


@pytest.mark.parametrize("raw", [
    b"\xff\xfe", "[]", '{"type": "pop"}',
    '{"type": "call", "version": 2, "call_id": "1", "direction": "inbound", "state": "ringing"}',
    '{"type": "call", "version": 1, "direction": "inbound", "state": "ringing"}',
    '{"type": "call", "version": 1, "call_id": "1", "direction": "sideways", "state": "ringing"}',
    '{"type": "call", "version": 1, "call_id": "1", "direction": "inbound", "state": "ringing",'
    ' "agents": {"PJSIP/6001": "dancing"}}',
], ids=["binary", "list", "other-type", "future-version", "no-call-id", "bad-direction",
        "bad-leg-state"])
def test_bad_envelopes_raise_a_clear_error(raw):
    with pytest.raises(EnvelopeError):
        CallUpdate.from_json(raw)
