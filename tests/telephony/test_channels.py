"""EndpointMatcher: which channels are agents' phones, from configured globs."""
from __future__ import annotations

import pytest

from telephony.channels import EndpointMatcher


@pytest.mark.parametrize(("patterns", "channel", "endpoint"), [
    (["PJSIP/*"], "PJSIP/6001-0000001b", "PJSIP/6001"),
    (["SIP/*"], "SIP/6001-00000021", "SIP/6001"),
    (["Local/*@agents"], "Local/6001@agents-00000003;2", "Local/6001@agents"),
    (["Local/*@agents"], "Local/6001@agents-00000003;1", "Local/6001@agents"),
    (["PJSIP/*"], "PJSIP/agent-6001-0000001b", "PJSIP/agent-6001"),
    (["PJSIP/*"], "PJSIP/sales.floor-2-000000ff", "PJSIP/sales.floor-2"),
    (["PJSIP/600?"], "PJSIP/6001-0000001b", "PJSIP/6001"),
    (["SIP/600*", "PJSIP/*"], "PJSIP/6001-0000001b", "PJSIP/6001"),
    ([" PJSIP/* ", ""], "PJSIP/6001-0000001b", "PJSIP/6001"),
    (["PJSIP/*"], "PJSIP/6001", "PJSIP/6001"),  # an Interface, no channel suffix
], ids=lambda v: v if isinstance(v, str) else ",".join(v))
def test_agent_channels_map_to_their_endpoint(patterns, channel, endpoint):
    assert EndpointMatcher(patterns).endpoint_of(channel) == endpoint


@pytest.mark.parametrize(("patterns", "channel"), [
    (["PJSIP/*"], "SIP/6001-00000021"),
    (["SIP/600*"], "SIP/pstn-gw-0000001f"),
    (["Local/*@agents"], "Local/5215512345678@from-pstn-00000000;1"),
    (["Local/*@agents"], "Local/6001@agents-sip-00000003;1"),
    (["PJSIP/600?"], "PJSIP/60011-0000001b"),
    (["PJSIP/*"], ""),
    (["PJSIP/*"], "<unknown>"),
    ([], "PJSIP/6001-0000001b"),
], ids=lambda v: v if isinstance(v, str) else ",".join(v) or "none")
def test_other_channels_are_not_agents(patterns, channel):
    assert EndpointMatcher(patterns).endpoint_of(channel) is None


def test_matching_is_case_sensitive_like_asterisk_names():
    assert EndpointMatcher(["pjsip/*"]).endpoint_of("PJSIP/6001-0000001b") is None


def test_many_distinct_endpoints_keep_matching_correctly():
    matcher = EndpointMatcher(["Local/*@agents"])
    for n in range(10_000):  # customers' Local channels make endpoint names unbounded
        assert matcher.endpoint_of(f"Local/55{n:08d}@from-pstn-{n:08x};1") is None
    assert matcher.endpoint_of("Local/6001@agents-00000003;2") == "Local/6001@agents"


def test_exclusions_keep_trunks_out_of_the_agent_endpoints():
    from telephony.config import DEFAULT_AGENT_PATTERNS
    matcher = EndpointMatcher(DEFAULT_AGENT_PATTERNS)
    assert matcher.endpoint_of("PJSIP/6001-0000001b") == "PJSIP/6001"
    assert matcher.endpoint_of("SIP/6002-00000004") == "SIP/6002"
    assert matcher.endpoint_of("SIP/pstn-gw-00000007") is None
    assert matcher.endpoint_of("PJSIP/trunk-0000001a") is None
    assert EndpointMatcher(["!PJSIP/trunk*", "PJSIP/*"]).endpoint_of("PJSIP/trunk-0000001a") is None
