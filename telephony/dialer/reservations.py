"""Agent reservations in Redis (`Keys.dialer_agent_reservation`): an agent is held for one dialer
attempt from before its lead is claimed until its call ends, so no two engines (or campaigns)
ever give one agent two calls. Each reservation expires, so a dead engine frees its agents.

A reservation is taken with a token of its own (SET NX), handed over to the attempt's id once
the claim succeeded, refreshed while the call lasts, and deleted only by its holder
(compare-and-delete), so a late release never frees an agent someone else holds. The release
after an attempt announces the freed agent on Keys.dialer_agents_freed_channel in the same script, so every
engine (the holder included) hears of it the same way and races for that agent on equal terms.
"""
from __future__ import annotations

import uuid

from common.keys import Keys

_SWAP = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) and 1 or 0
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('DEL', KEYS[1])
    if ARGV[2] ~= '' then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
    return 1
end
return 0
"""
_REFRESH = """
local kept = 0
for i, key in ipairs(KEYS) do
    if redis.call('GET', key) == ARGV[i] then
        redis.call('PEXPIRE', key, ARGV[#ARGV])
        kept = kept + 1
    end
end
return kept
"""


class Reservations:
    def __init__(self, redis, keys: Keys, *, ttl_seconds: float) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl_ms = max(1, int(ttl_seconds * 1000))
        self._swap = redis.register_script(_SWAP)
        self._release = redis.register_script(_RELEASE)
        self._refresh = redis.register_script(_REFRESH)

    async def take(self, username: str) -> str | None:
        """A fresh token when the agent was free, else None."""
        token = f"pending-{uuid.uuid4().hex}"
        taken = await self._redis.set(self._keys.dialer_agent_reservation(username), token,
                                      nx=True, px=self._ttl_ms)
        return token if taken else None

    async def hand_over(self, username: str, token: str, attempt_id: str) -> bool:
        """The reservation now names the attempt (what the key documents); False when lost."""
        return bool(await self._swap(keys=[self._keys.dialer_agent_reservation(username)],
                                     args=[token, attempt_id, self._ttl_ms]))

    async def hold(self, username: str, token: str, seconds: float) -> bool:
        """Keeps the agent reserved, by nobody's attempt, for `seconds` more."""
        return bool(await self._swap(keys=[self._keys.dialer_agent_reservation(username)],
                                     args=[token, f"held-{token}",
                                           max(1, int(seconds * 1000))]))

    async def release(self, username: str, token: str) -> bool:
        """Frees the agent after their attempt (call, offer) and announces it."""
        return bool(await self._release(
            keys=[self._keys.dialer_agent_reservation(username)],
            args=[token, self._keys.dialer_agents_freed_channel, username]))

    async def give_back(self, username: str, token: str) -> bool:
        """Frees a reservation no attempt used (no lead was due), silently: announcing it would
        wake every engine into the same empty claim, over and over."""
        return bool(await self._release(keys=[self._keys.dialer_agent_reservation(username)],
                                        args=[token, "", username]))

    async def refresh(self, held: dict[str, str]) -> int:
        """Extends username → token reservations still held; returns how many were."""
        if not held:
            return 0
        names = list(held)
        return int(await self._refresh(
            keys=[self._keys.dialer_agent_reservation(name) for name in names],
            args=[*(held[name] for name in names), self._ttl_ms]))
