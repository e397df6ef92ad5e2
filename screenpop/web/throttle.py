"""Sign-in throttling: growing delays per account and client address, counted before the
password is checked, in one Redis script (so parallel attempts cannot all slip past the check).

Two buckets are charged for every attempt:
- (account, address): a few free tries, then each further failure doubles the wait. Only this
  address waits: someone elsewhere guessing an agent's password never locks the agent out.
- address: a looser allowance across every account, against one address trying many accounts.

An attempt is counted as a failure up front and given back when the password was right.
"""
from __future__ import annotations

from dataclasses import dataclass

from common.keys import Keys

# KEYS: bucket hashes. ARGV, for each key: free tries, first delay, longest delay, and how long
# a bucket is kept once its wait is over (ms). Returns 0 and the wait in ms when a bucket is
# still waiting (nothing counted), else 1 and the wait this attempt starts (ms). The clock is
# Redis's, so nodes with skewed clocks agree.
_ATTEMPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local wait = 0
for i, key in ipairs(KEYS) do
  local blocked_until = tonumber(redis.call('HGET', key, 'until')) or 0
  if blocked_until - now > wait then wait = blocked_until - now end
end
if wait > 0 then return {0, wait} end
local started = 0
for i, key in ipairs(KEYS) do
  local base = (i - 1) * 4
  local free, first, longest, keep = tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2]),
    tonumber(ARGV[base + 3]), tonumber(ARGV[base + 4])
  local failures = redis.call('HINCRBY', key, 'failures', 1)
  local delay = 0
  if failures >= free then
    delay = math.floor(math.min(longest, first * 2 ^ (failures - free)))
  end
  redis.call('HSET', key, 'until', now + delay)
  redis.call('PEXPIRE', key, delay + keep)
  if delay > started then started = delay end
end
return {1, started}
"""

# The attempt was right: the account's bucket at this address is cleared, the address's
# allowance gets this attempt back.
_SUCCEEDED = """
redis.call('DEL', KEYS[1])
if redis.call('EXISTS', KEYS[2]) == 1 and redis.call('HINCRBY', KEYS[2], 'failures', -1) < 0 then
  redis.call('HSET', KEYS[2], 'failures', 0)
end
return 1
"""


@dataclass(frozen=True)
class Allowance:
    free_attempts: int
    first_delay: float  # seconds, after the last free attempt fails
    longest_delay: float = 15 * 60
    keep: float = 15 * 60  # failures are forgotten this long after the wait ends

    def args(self) -> list[int]:
        return [self.free_attempts, round(self.first_delay * 1000),
                round(self.longest_delay * 1000), round(self.keep * 1000)]


@dataclass(frozen=True)
class ThrottlePolicy:
    account: Allowance = Allowance(free_attempts=5, first_delay=30)
    address: Allowance = Allowance(free_attempts=50, first_delay=30)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    wait_seconds: int  # refused: how long until the next try; allowed: the wait a failure starts


class LoginThrottle:
    def __init__(self, redis, keys: Keys, policy: ThrottlePolicy) -> None:
        self._redis = redis
        self._keys = keys
        self._policy = policy

    async def attempt(self, username: str, address: str) -> Verdict:
        """Count one sign-in attempt (as a failure until `succeeded`), or refuse it."""
        policy = self._policy
        allowed, wait_ms = await self._redis.eval(
            _ATTEMPT, 2, self._keys.login_throttle(username, address),
            self._keys.login_throttle_address(address), *policy.account.args(), *policy.address.args())
        return Verdict(bool(allowed), _ceil_seconds(int(wait_ms)))

    async def succeeded(self, username: str, address: str) -> None:
        await self._redis.eval(_SUCCEEDED, 2, self._keys.login_throttle(username, address),
                               self._keys.login_throttle_address(address))


def _ceil_seconds(ms: int) -> int:
    return -(-ms // 1000)
