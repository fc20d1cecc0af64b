"""Token buckets for the LLM limiter: RPM, input-TPM and output-TPM per provider+model key.

Two backends behind one contract (``BucketBackend``): in-process (default) and Redis (a Lua script, so
several workers share one budget — read and write happen in one atomic step, unlike the multi-replica
TPM bug in LiteLLM's pre-call check). While Redis cannot be reached, the Redis backend keeps limiting
in process, at ``local_share`` of each limit (several workers then stay under the account's limit
together), and goes back to the shared buckets when Redis answers again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

from aimanager.llm.cache import REDIS_TIMEOUT_S, RedisOutage, redis_errors
from aimanager.logs import get_logger
from aimanager.shared_state import connect

log = get_logger(__name__)
KINDS = ("rpm", "itpm", "otpm")


@dataclass(slots=True)
class Limits:
    """Per-minute limits of one provider+model (None = unknown, not enforced)."""

    rpm: float | None = None
    itpm: float | None = None
    otpm: float | None = None

    def of(self, kind: str) -> float | None:
        return float(getattr(self, kind)) if getattr(self, kind) else None

    @property
    def known(self) -> bool:
        """True when any limit is known (from configuration or a response's headers)."""
        return bool(self.rpm or self.itpm or self.otpm)


class BucketBackend(Protocol):
    """Where bucket levels live. ``rate`` is per second, ``capacity`` in units."""

    async def reserve(self, key: str, wants: list[tuple[str, float, float, float]]) -> float:
        """Take ``amount`` of every ``(kind, amount, rate, capacity)`` at once, or none of them and return
        the seconds to wait until all would fit. Returns 0.0 when taken."""
        ...

    async def adjust(self, key: str, kind: str, delta: float, rate: float, capacity: float) -> None:
        """Add ``delta`` (negative charges) to a bucket."""
        ...

    async def clamp(self, key: str, kind: str, level: float, rate: float, capacity: float) -> None:
        """Lower a bucket to ``level`` if it is above it (server-reported remaining)."""
        ...

    async def close(self) -> None: ...


@dataclass(slots=True)
class _Level:
    level: float
    stamp: float


class MemoryBuckets:
    """In-process buckets (one event loop)."""

    def __init__(self) -> None:
        self._levels: dict[tuple[str, str], _Level] = {}

    def _get(self, key: str, kind: str, rate: float, capacity: float, now: float) -> _Level:
        entry = self._levels.get((key, kind))
        if entry is None:
            entry = self._levels[(key, kind)] = _Level(capacity, now)
        entry.level = min(capacity, entry.level + (now - entry.stamp) * rate)
        entry.stamp = now
        return entry

    async def reserve(self, key: str, wants: list[tuple[str, float, float, float]]) -> float:
        now = time.monotonic()
        worst = 0.0
        entries = []
        for kind, amount, rate, capacity in wants:
            entry = self._get(key, kind, rate, capacity, now)
            entries.append((entry, amount))
            # A request bigger than the bucket waits for a full bucket, then overdraws it (as servers do).
            need = min(amount, capacity) - entry.level
            if need > 0:
                worst = max(worst, need / rate)
        if worst > 0:
            return worst
        for entry, amount in entries:
            entry.level -= amount
        return 0.0

    async def adjust(self, key: str, kind: str, delta: float, rate: float, capacity: float) -> None:
        entry = self._get(key, kind, rate, capacity, time.monotonic())
        entry.level = min(capacity, entry.level + delta)

    async def clamp(self, key: str, kind: str, level: float, rate: float, capacity: float) -> None:
        entry = self._get(key, kind, rate, capacity, time.monotonic())
        entry.level = min(entry.level, level)

    async def close(self) -> None:
        return None


# KEYS: one hash per kind. ARGV: mode, then per key: amount, rate, capacity.
# mode "reserve": all-or-nothing take; "adjust": add amount (capped); "clamp": lower to amount.
_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local mode = ARGV[1]
local levels = {}
local worst = 0
for i, key in ipairs(KEYS) do
  local amount = tonumber(ARGV[2 + (i - 1) * 3])
  local rate = tonumber(ARGV[3 + (i - 1) * 3])
  local capacity = tonumber(ARGV[4 + (i - 1) * 3])
  local state = redis.call('HMGET', key, 'level', 'stamp')
  local level = tonumber(state[1]) or capacity
  local stamp = tonumber(state[2]) or now
  level = math.min(capacity, level + math.max(0, now - stamp) * rate)
  levels[i] = level
  if mode == 'reserve' then
    local need = math.min(amount, capacity) - level
    if need > 0 then worst = math.max(worst, need / rate) end
  end
end
for i, key in ipairs(KEYS) do
  local amount = tonumber(ARGV[2 + (i - 1) * 3])
  local rate = tonumber(ARGV[3 + (i - 1) * 3])
  local capacity = tonumber(ARGV[4 + (i - 1) * 3])
  local level = levels[i]
  if mode == 'reserve' and worst == 0 then level = level - amount
  elseif mode == 'adjust' then level = math.min(capacity, level + amount)
  elseif mode == 'clamp' then level = math.min(level, amount) end
  redis.call('HSET', key, 'level', tostring(level), 'stamp', tostring(now))
  redis.call('EXPIRE', key, math.ceil(capacity / rate) + 60)
end
return tostring(worst)
"""


class RedisBuckets:
    """Buckets in Redis, shared by every process using the same ``prefix``.

    ``local_share``: the share of each limit this process takes alone while Redis is down (a quarter
    by default: four workers, or one worker and other tools on the key, stay within the limit).

    ``url`` may name a Redis Cluster (``redis+cluster://``): a key's buckets share a hash tag
    (``{provider/model}``), so the script that takes from all three at once runs on one node."""

    def __init__(self, url: str, prefix: str = "aimanager:llm:bucket:", *, local_share: float = 0.25) -> None:
        self._redis: Any = connect(url, timeout_s=REDIS_TIMEOUT_S)
        self._prefix = prefix
        self._script = self._redis.register_script(_LUA)
        self.local_share = local_share
        self.local = MemoryBuckets()
        self.outage = RedisOutage("limiter", events="llm.redis")
        self._errors = redis_errors()

    def _key(self, key: str, kind: str) -> str:
        return f"{self._prefix}{{{key}}}:{kind}"

    async def _run(self, mode: str, key: str, items: list[tuple[str, float, float, float]]) -> float:
        if self.outage.usable():
            keys = [self._key(key, kind) for kind, *_ in items]
            args: list[Any] = [mode]
            for _, amount, rate, capacity in items:
                args.extend((repr(float(amount)), repr(float(rate)), repr(float(capacity))))
            try:
                wait = float(await self._script(keys=keys, args=args))
            except self._errors as exc:
                self.outage.failed(exc)
            else:
                self.outage.ok()
                return wait
        return await self._run_local(mode, key, items)

    async def _run_local(self, mode: str, key: str, items: list[tuple[str, float, float, float]]) -> float:
        share = self.local_share
        scaled = [
            (kind, amount, rate * share, max(1.0, capacity * share)) for kind, amount, rate, capacity in items
        ]
        if mode == "reserve":
            return await self.local.reserve(key, scaled)
        for kind, amount, rate, capacity in scaled:
            if mode == "adjust":  # tokens really used or refunded: not scaled
                await self.local.adjust(key, kind, amount, rate, capacity)
            else:  # a server-reported level (or a 429's hold): this process's share of it
                await self.local.clamp(key, kind, amount * share, rate, capacity)
        return 0.0

    async def reserve(self, key: str, wants: list[tuple[str, float, float, float]]) -> float:
        return await self._run("reserve", key, wants)

    async def adjust(self, key: str, kind: str, delta: float, rate: float, capacity: float) -> None:
        await self._run("adjust", key, [(kind, delta, rate, capacity)])

    async def clamp(self, key: str, kind: str, level: float, rate: float, capacity: float) -> None:
        await self._run("clamp", key, [(kind, level, rate, capacity)])

    async def close(self) -> None:
        await self._redis.aclose()
