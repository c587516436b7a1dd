"""How often sign-in may fail (A-01): per login name and per address, in this process or shared through Redis.

A limiter answers three questions, all by key ("login:<login>", "addr:<address>", "verify:<token prefix>"):
how long until a new attempt is allowed, "this attempt failed", and "this login succeeded" (its count
starts again). Addresses get a higher limit than logins: an office signs in from one address.

`LoginLimiter` counts in memory, so each API instance counts alone. `RedisLoginLimiter` counts in Redis,
shared by every instance behind a balancer: a sliding window per key, a sorted set of failure times (the
Redis server's clock, so the instances' clocks need not agree) trimmed to the window and to the limit, and
expiring with the window so no key stays behind. It also keeps the same counts in its own `LoginLimiter`;
when Redis does not answer in time, that call is answered from there (with a warning in the log): signing in
keeps working, limited per instance as before, and never fails because the limiter's store is down.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger("admin_api.limits")

ATTEMPTS = 5  # failed sign-ins per login name in a window
PER_ADDRESS = 50  # … and per address
WINDOW_S = 300.0


class LoginLimits(Protocol):
    async def retry_after(self, *keys: str) -> float:
        """Seconds until a new attempt is allowed under every key (0: allowed now)."""

    async def failed(self, *keys: str) -> None:
        """An attempt failed: it counts under every key."""

    async def succeeded(self, login_key: str) -> None:
        """The login signed in: its count starts again (the address's does not)."""


def _limit(key: str, attempts: int, per_address: int) -> int:
    return per_address if key.startswith("addr:") else attempts


class LoginLimiter:
    """At most `attempts` failed sign-ins per login name, and `per_address` per address, in `window_s`;
    in memory, per process."""

    def __init__(self, attempts: int = ATTEMPTS, window_s: float = WINDOW_S,
                 clock: Callable[[], float] = time.monotonic, per_address: int = PER_ADDRESS,
                 max_keys: int = 100_000) -> None:
        self.attempts = attempts
        self.per_address = per_address
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self.max_keys = max_keys  # beyond this, keys without a failure in the window are dropped
        self._prune_at = max_keys

    def _recent(self, key: str) -> deque[float]:
        now = self.clock()
        failures = self._failures.setdefault(key, deque())
        while failures and now - failures[0] > self.window_s:
            failures.popleft()
        return failures

    async def retry_after(self, *keys: str) -> float:
        wait = 0.0
        for key in keys:
            failures = self._recent(key)
            if len(failures) >= _limit(key, self.attempts, self.per_address):
                wait = max(wait, self.window_s - (self.clock() - failures[0]))
        return wait

    async def failed(self, *keys: str) -> None:
        if len(self._failures) > self._prune_at:  # many logins or addresses tried once: forget the old ones
            now = self.clock()
            for stale in [k for k, f in self._failures.items() if not f or now - f[-1] > self.window_s]:
                del self._failures[stale]
            self._prune_at = max(self.max_keys, 2 * len(self._failures))  # not a full scan at every failure
        for key in keys:
            self._recent(key).append(self.clock())

    async def succeeded(self, login_key: str) -> None:
        self._failures.pop(login_key, None)


# KEYS: the keys; ARGV[1]: the window in ms, ARGV[1 + i]: the limit of KEYS[i]. Returns the wait in ms.
_RETRY_AFTER_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. (now - window))
  if redis.call('ZCARD', key) >= tonumber(ARGV[1 + i]) then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    wait = math.max(wait, window - (now - tonumber(oldest[2])))
  end
end
return wait
"""

# KEYS: the keys; ARGV[1]: the window in ms, ARGV[2]: a name unique to this attempt, ARGV[2 + i]: the limit
# of KEYS[i]. Only the newest `limit` failures matter (the oldest of them says when one more is allowed).
_FAILED_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. (now - window))
  redis.call('ZREMRANGEBYRANK', key, 0, -(tonumber(ARGV[2 + i]) + 1))
  redis.call('PEXPIRE', key, window)  -- renewed by each failure: gone a window after the last one
end
return 0
"""


class RedisLoginLimiter:
    """The limits of `LoginLimiter`, counted in Redis under `<prefix>{login-limit}:<key>` (one hash tag: a
    call's keys share a Cluster slot, so one script serves it in one round trip). Logins are global, so the
    key space is not per tenant. A call Redis does not answer within `timeout_s` is answered by `local`."""

    def __init__(self, client: aioredis.Redis, attempts: int = ATTEMPTS, window_s: float = WINDOW_S,
                 per_address: int = PER_ADDRESS, prefix: str = "pbx:", timeout_s: float = 0.5,
                 local: LoginLimiter | None = None) -> None:
        self.attempts = attempts
        self.per_address = per_address
        self.window_ms = max(1, round(window_s * 1000))
        self.prefix = f"{prefix}{{login-limit}}:"
        self.timeout_s = timeout_s
        self.local = local or LoginLimiter(attempts, window_s, per_address=per_address)
        self._client = client
        self._retry_after = client.register_script(_RETRY_AFTER_LUA)
        self._failed = client.register_script(_FAILED_LUA)

    def _limits(self, keys: tuple[str, ...]) -> list[int]:
        return [_limit(key, self.attempts, self.per_address) for key in keys]

    def _unavailable(self, action: str, exc: BaseException) -> None:
        log.warning("login limiter's Redis unavailable: limiting in this process only",
                    extra={"event": "login_limiter_unavailable", "action": action,
                           "error": f"{type(exc).__name__}: {exc}"})

    async def retry_after(self, *keys: str) -> float:
        try:
            async with asyncio.timeout(self.timeout_s):
                wait_ms = await self._retry_after(keys=[self.prefix + k for k in keys],
                                                  args=[self.window_ms, *self._limits(keys)])
        except (RedisError, OSError, TimeoutError) as exc:
            self._unavailable("retry_after", exc)
            return await self.local.retry_after(*keys)
        return max(0.0, int(wait_ms) / 1000)

    async def failed(self, *keys: str) -> None:
        await self.local.failed(*keys)  # counted here too: what an outage falls back on
        try:
            async with asyncio.timeout(self.timeout_s):
                await self._failed(keys=[self.prefix + k for k in keys],
                                   args=[self.window_ms, secrets.token_hex(8), *self._limits(keys)])
        except (RedisError, OSError, TimeoutError) as exc:
            self._unavailable("failed", exc)

    async def succeeded(self, login_key: str) -> None:
        await self.local.succeeded(login_key)
        try:
            async with asyncio.timeout(self.timeout_s):
                await self._client.delete(self.prefix + login_key)
        except (RedisError, OSError, TimeoutError) as exc:
            self._unavailable("succeeded", exc)
