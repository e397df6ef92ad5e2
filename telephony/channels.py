"""Channel names → agent endpoints, from configured glob patterns (configuration, not code).

Asterisk names channels `TECH/resource-<8 hex>` (`PJSIP/6001-0000001b`) and Local channels
`Local/exten@context-<8 hex>;1|;2`. Endpoint names may themselves contain `-` or `.`, so the unique
suffix is the part after the LAST `-`.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from fnmatch import fnmatchcase

_SUFFIX = re.compile(r"-[0-9a-fA-F]{8,}(?:;[12])?$")
_CACHE_LIMIT = 4096  # distinct endpoint names seen (customers' Local channels make them unbounded)


def endpoint_name(channel: str) -> str:
    """`PJSIP/6001-0000001b` → `PJSIP/6001`; `Local/6001@agents-00000003;2` → `Local/6001@agents`;
    a name without a channel suffix (an Interface such as `SIP/6001`) is returned unchanged."""
    match = _SUFFIX.search(channel)
    return channel[:match.start()] if match else channel


class EndpointMatcher:
    """Which channels are agents' phones, by endpoint globs like `PJSIP/*`, `Local/*@agents`.
    A pattern starting with `!` excludes what it matches (trunks: `!PJSIP/trunk*`), whatever
    the order of the patterns."""

    def __init__(self, patterns: Sequence[str]) -> None:
        cleaned = [p.strip() for p in patterns if p and p.strip()]
        self.patterns = tuple(p for p in cleaned if not p.startswith("!"))
        self.exclusions = tuple(p[1:] for p in cleaned if p.startswith("!"))
        self._known: dict[str, bool] = {}

    def is_agent_endpoint(self, endpoint: str) -> bool:
        known = self._known.get(endpoint)
        if known is None:
            known = ("/" in endpoint and any(fnmatchcase(endpoint, p) for p in self.patterns)
                     and not any(fnmatchcase(endpoint, p) for p in self.exclusions))
            if len(self._known) >= _CACHE_LIMIT:
                self._known.clear()
            self._known[endpoint] = known
        return known

    def endpoint_of(self, channel: str) -> str | None:
        """The agent endpoint a channel belongs to, or None when no pattern matches it."""
        if not channel:
            return None
        endpoint = endpoint_name(channel)
        return endpoint if self.is_agent_endpoint(endpoint) else None
