"""Marketplace limits shared by every worker on every host: the Redis ``LimitStore``.

A seller account's limits are the marketplace's, whatever number of processes talk to it: WB takes
ten price uploads per six seconds per account, not per worker. ``RedisLimitStore`` keeps each
account's buckets and per-key windows in Redis, updated by Lua scripts (read, refill and take in one
atomic step), so N workers on N hosts together stay within one account's limit.

* Buckets are the same reservation buckets as the local ones (``ratelimit.TokenBucket``): a ``take``
  reserves the tokens at once and returns the debt to sleep off, so waiters are served in the order
  they asked, across hosts. Time is Redis's ``TIME``, one clock for every host, divided by the
  account's ``time_scale`` (marketplace seconds, as everywhere in the connectors).
* A marketplace's 429/420 with a retry-after (``block_for``) lowers the shared bucket so that no
  process sends before the server's time is up: the bucket's hash is the account's shared cool-down.
* Keys carry the account in a hash tag — ``aimanager:mp:{wb:3f…}:b:prices`` — so that a window's
  script, which touches one key per offer, runs on one Redis Cluster node.

While Redis cannot be reached each bucket and window falls back on a local one, at ``local_share`` of
the account's limit for buckets (four workers, or one worker and other tools on the account, stay
within the limit together), and goes back to Redis when it answers (``RedisHandle``'s outage state).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aimanager.connectors.ratelimit import KeyedWindow, LimitSpec, MarketClock, TokenBucket
from aimanager.shared_state import DOWN, RedisHandle

# KEYS[1]: the bucket hash. ARGV: mode, amount, rate (per marketplace s), capacity, time scale.
# take: reserve amount, return the wait; charge: take amount after the fact; block: no token for
# amount seconds; level: read the tokens. The hash expires once it would be full again anyway.
_BUCKET = """
local t = redis.call('TIME')
local scale = tonumber(ARGV[5])
local now = (tonumber(t[1]) + tonumber(t[2]) / 1000000) / scale
local mode = ARGV[1]
local amount = tonumber(ARGV[2])
local rate = tonumber(ARGV[3])
local capacity = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1]) or capacity
local stamp = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - stamp) * rate)
if mode == 'level' then return tostring(tokens) end
local wait = 0
if mode == 'take' then
  tokens = tokens - amount
  if tokens < 0 then wait = -tokens / rate end
elseif mode == 'charge' then
  tokens = tokens - amount
elseif mode == 'block' then
  tokens = math.min(tokens, 1 - amount * rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(((capacity - tokens) / rate * scale + 60) * 1000))
return tostring(wait)
"""

# KEYS: one string per window key ("t1 t2 …", event times in marketplace seconds, ascending).
# ARGV: mode, max events, period, time scale. take: record one event per key at the earliest time
# legal for all; confirm: move each key's latest event to now (the server's window starts when the
# request arrived); peek: nothing recorded. Returns {wait, then per key the seconds until it may
# have another event}.
_WINDOW = """
local t = redis.call('TIME')
local scale = tonumber(ARGV[4])
local now = (tonumber(t[1]) + tonumber(t[2]) / 1000000) / scale
local mode = ARGV[1]
local max_events = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local all = {}
local start = now
for i, key in ipairs(KEYS) do
  local events = {}
  local raw = redis.call('GET', KEYS[i])
  if raw then
    for v in string.gmatch(raw, '%S+') do
      local e = tonumber(v)
      if e > now - period then table.insert(events, e) end
    end
  end
  all[i] = events
  if mode == 'take' and #events >= max_events then
    start = math.max(start, events[#events - max_events + 1] + period)
  end
end
local out = {}
for i, key in ipairs(KEYS) do
  local events = all[i]
  if mode == 'take' then table.insert(events, start) end
  if mode == 'confirm' and #events > 0 then events[#events] = math.max(events[#events], now) end
  while #events > max_events do table.remove(events, 1) end
  if mode ~= 'peek' and #events > 0 then
    local parts = {}
    for j, e in ipairs(events) do parts[j] = string.format('%.6f', e) end
    local keep = (events[#events] + period - now) * scale
    redis.call('SET', key, table.concat(parts, ' '), 'PX', math.ceil((keep + 1) * 1000))
  end
  local next_at = now
  if #events >= max_events then next_at = events[#events - max_events + 1] + period end
  out[i] = tostring(math.max(0, next_at - now))
end
table.insert(out, 1, tostring(start - now))
return out
"""

DEFAULT_LOCAL_SHARE = 0.25


class _Deferred:
    """Writes a synchronous caller asked for (``penalize``, ``block_for``, ``confirm``), sent in the
    background in order, and waited for before the next shared operation of the same object."""

    def __init__(self, send: Callable[[Any], Awaitable[None]]) -> None:
        self._send = send
        self._queue: list[Any] = []
        self._task: asyncio.Task[None] | None = None

    def add(self, item: Any) -> None:
        self._queue.append(item)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop: sent before the next operation
            return
        if self._task is None or self._task.done():
            self._task = loop.create_task(self.flush())

    async def flush(self) -> None:
        if self._task is not None and not self._task.done() and self._task is not asyncio.current_task():
            await asyncio.shield(self._task)
        while self._queue:
            await self._send(self._queue.pop(0))


class SharedTokenBucket:
    """One account's method-group bucket in Redis (the ``Bucket`` contract)."""

    def __init__(self, store: RedisLimitStore, key: str, spec: LimitSpec, clock: MarketClock) -> None:
        self.spec = spec
        self.clock = clock
        reference = TokenBucket(spec, clock)  # same shape as the local bucket: 90 %, one burst spare
        self.rate, self.capacity = reference.rate, reference.capacity
        self.local = TokenBucket(spec, clock, share=store.local_share)
        self._store = store
        self._key = key
        self._script = store.bucket_script
        self._deferred = _Deferred(self._apply)

    def __repr__(self) -> str:
        return f"SharedTokenBucket({self._key!r})"

    async def _run(self, mode: str, amount: float) -> float | None:
        args = [mode, repr(float(amount)), repr(self.rate), repr(self.capacity), repr(self.clock.time_scale)]
        handle = self._store.handle
        answer = await handle.call(lambda: self._script(keys=[self._key], args=args, client=handle.client))
        return None if answer is DOWN else float(answer)

    async def take(self, cost: float = 1.0) -> float:
        await self._deferred.flush()
        wait = await self._run("take", cost)
        return self.local.reserve(cost) if wait is None else wait

    async def acquire(self, cost: float = 1.0) -> None:
        await self.clock.sleep(await self.take(cost))

    def penalize(self, cost: float) -> None:
        self._deferred.add(("charge", cost))

    def block_for(self, seconds: float) -> None:
        self._deferred.add(("block", seconds))

    async def _apply(self, item: tuple[str, float]) -> None:
        mode, amount = item
        if await self._run(mode, amount) is None:  # Redis away: at least this process holds back
            (self.local.penalize if mode == "charge" else self.local.block_for)(amount)

    async def level(self) -> float:
        await self._deferred.flush()
        found = await self._run("level", 0.0)
        return self.local.tokens if found is None else found


class SharedWindow:
    """One account's per-key window in Redis (the ``Window`` contract; Ozon's cooldowns)."""

    def __init__(
        self, store: RedisLimitStore, prefix: str, max_events: int, period: float, clock: MarketClock
    ) -> None:
        self.max_events = max_events
        self.clock = clock
        self.local = KeyedWindow(max_events, period, clock)
        self.period = self.local.period  # with the same margin as the local window
        self._store = store
        self._prefix = prefix
        self._script = store.window_script
        self._deferred = _Deferred(self._confirm)
        # What Redis said of each key at the last take/refresh: when it may next have an event.
        self._next_at: dict[str, float] = {}

    async def _run(self, mode: str, keys: list[str]) -> list[float] | None:
        args = [mode, str(self.max_events), repr(self.period), repr(self.clock.time_scale)]
        handle = self._store.handle
        full = [self._prefix + k for k in keys]
        answer = await handle.call(lambda: self._script(keys=full, args=args, client=handle.client))
        if answer is DOWN:
            return None
        values = [float(v) for v in answer]
        now = self.clock.now()
        for key, wait in zip(keys, values[1:], strict=True):
            self._next_at[key] = now + wait
        return values

    async def take(self, keys: Iterable[str]) -> float:
        await self._deferred.flush()
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return 0.0
        found = await self._run("take", wanted)
        return self.local.reserve(wanted) if found is None else found[0]

    async def acquire(self, keys: Iterable[str]) -> None:
        await self.clock.sleep(await self.take(keys))

    def confirm(self, keys: Iterable[str]) -> None:
        self._deferred.add(list(keys))

    async def _confirm(self, keys: list[str]) -> None:
        if keys and await self._run("confirm", keys) is None:
            self.local.confirm(keys)

    async def refresh(self, keys: Iterable[str]) -> None:
        await self._deferred.flush()
        wanted = list(dict.fromkeys(keys))
        if wanted:
            await self._run("peek", wanted)

    def wait_for(self, key: str) -> float:
        """Seconds until ``key`` may have another event, as of the last ``take``/``refresh`` (and this
        process's own fallback events while Redis was away)."""
        shared = self._next_at.get(key, 0.0) - self.clock.now()
        return max(0.0, shared, self.local.wait_for(key))


def account_tag(account: tuple[object, ...], time_scale: float) -> str:
    """The account's hash tag: marketplace and a hash of the rest of its key (credential
    fingerprint, host) and of the clock, so a sandbox account never shares a production one's."""
    market = str(account[0]) if account else "mp"
    digest = hashlib.sha256(repr((account[1:], time_scale)).encode()).hexdigest()[:16]
    return "{" + f"{market}:{digest}" + "}"


class RedisLimitStore:
    """The ``LimitStore`` over a ``RedisHandle``: every process using the same Redis and ``namespace``
    shares each account's limits."""

    def __init__(
        self, handle: RedisHandle, namespace: str = "mp", *, local_share: float = DEFAULT_LOCAL_SHARE
    ) -> None:
        if not 0 < local_share <= 1:
            raise ValueError("local_share must be in (0, 1]")
        self.handle = handle
        self.namespace = namespace
        self.local_share = local_share
        self.bucket_script = handle.script(_BUCKET)
        self.window_script = handle.script(_WINDOW)

    def __repr__(self) -> str:
        return f"RedisLimitStore({self.handle!r})"

    def _prefix(self, account: tuple[object, ...], clock: MarketClock) -> str:
        return self.handle.key(self.namespace, account_tag(account, clock.time_scale))

    def bucket(
        self, account: tuple[object, ...], group: str, spec: LimitSpec, clock: MarketClock
    ) -> SharedTokenBucket:
        return SharedTokenBucket(self, f"{self._prefix(account, clock)}:b:{group}", spec, clock)

    def window(
        self, account: tuple[object, ...], name: str, max_events: int, period: float, clock: MarketClock
    ) -> SharedWindow:
        return SharedWindow(self, f"{self._prefix(account, clock)}:w:{name}:", max_events, period, clock)
