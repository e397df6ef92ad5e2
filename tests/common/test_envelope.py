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
    '{"type": "call", "version": 1, "call_id": "1", "direction": "inbound", "state": "ringing",'
    ' "variables": {"PREINST_ID": 1001}}',
], ids=["binary", "list", "other-type", "future-version", "no-call-id", "bad-direction",
        "bad-leg-state", "variable-not-text"])
def test_bad_envelopes_raise_a_clear_error(raw):
    with pytest.raises(EnvelopeError):
        CallUpdate.from_json(raw)


def test_dialer_ids_are_read_from_the_channel_variables():
    update = CallUpdate(call_id="c7-1001-agent", direction="outbound", state="answered",
                        customer_number="5215512345678",
                        variables={"CAMPAIGN_ID": "c7", "PREINST_ID": "1001", "SP_CALL": "a-1"})
    again = CallUpdate.from_json(update.to_json())
    assert (again.campaign_id, again.preinstallation_id, again.dialer_call_id) == (
        "c7", "1001", "a-1")
    assert sample().preinstallation_id is None


def test_an_envelope_from_before_variables_reads_as_untagged():
    old = {"type": "call", "version": 1, "call_id": "1", "direction": "inbound",
           "state": "ringing", "customer_number": None, "agents": {}, "seq": 4}
    update = CallUpdate.from_json(json.dumps(old))
    assert update.variables == {} and update.campaign_id is None and update.seq == 4
