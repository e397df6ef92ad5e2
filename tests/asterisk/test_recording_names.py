"""A recording's file name is the call id the tracker gives the call.

The dialplan records on the customer's leg (`record` in asterisk-config/extensions.conf) and names
the file `${CHANNEL(linkedid)}.wav`. It runs before that leg is bridged: on the trunk channel of
an inbound call before Queue()/Dial(), on the outgoing leg of an agent's or the dialer's call in
Dial's b() pre-dial handler, on the answered customer of a customer-first dialer call. At that
moment the leg's Linkedid is the one it was created with (its Newchannel event). Replaying real
and derived Asterisk 20 streams through the tracker shows that this is the id of every update of
the call, for inbound, outbound, dialer and transferred calls.
"""
from __future__ import annotations

import pytest

from telephony.channels import EndpointMatcher
from tests.asterisk.conf import HERE
from tests.telephony.replay import SYNTHETIC, TRACES, feed_all, messages, tracker

SIP = ("SIP/600*",)
CASES = {
    "inbound through the queue": TRACES / "sip-trunk-inbound-queue.txt",
    "inbound direct dial-in": TRACES / "sip-inbound-direct.txt",
    "outbound, agent dials": TRACES / "sip-agent-outbound.txt",
    "dialer, agent first": HERE / "dialer" / "agent-first.txt",
    "dialer, customer first": HERE / "dialer" / "customer-first.txt",
    "dialer, customer first with AMD": HERE / "dialer" / "amd-human.txt",
    "blind transfer": SYNTHETIC / "blind-transfer.txt",
    "attended transfer": SYNTHETIC / "attended-transfer.txt",
}


def customer_leg_linkedid(events) -> str:
    """The Linkedid of the first channel that is not an agent's phone, as it was created."""
    agents = EndpointMatcher(SIP)
    for event in events:
        if event.get("Event") == "Newchannel" and agents.endpoint_of(event["Channel"]) is None:
            return event["Linkedid"]
    raise AssertionError("no customer leg in the trace")


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_recording_is_named_after_the_tracked_call(case):
    events = messages(CASES[case])
    updates = feed_all(tracker(*SIP), events)
    assert updates, "the tracker published nothing"
    assert {update.call_id for update in updates} == {customer_leg_linkedid(events)}
