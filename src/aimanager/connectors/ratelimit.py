"""Client-side rate limiting: token buckets per method group, per-key windows, a scaled clock.

All limits are written in *marketplace seconds* (as documented). A ``MarketClock`` maps them to wall
time through ``time_scale`` (1.0 in production; tests run the sandboxes and the connectors with the
same small scale so that a "6 s" window takes milliseconds while every count stays exact).

Buckets are reservation-based: ``acquire`` takes the tokens at once (the balance may go negative) and
sleeps off the debt. That needs no lock, keeps FIFO order among waiters, and lets one bucket be shared
by several connector instances of the same account, even across event loops (``shared_limiters``).
The client runs slightly under the documented limit (``CLIENT_RATE_FACTOR``, one burst token kept
spare) because the server's clock starts when a request *arrives*, not when we send it.

Across processes and hosts: when the connector is built under a ``LimitStore`` (``use_store``; the
runtime installs the Redis one when ``AIMANAGER_REDIS_URL`` is set), ``LimiterSet`` asks the store for
its buckets and windows instead, and every worker of every host shares one budget per seller account
(``connectors.shared_limits``). The classes here stay the embedded mode's limiters, and the contract
both implement is ``Bucket`` / ``Window``.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Protocol

# Run at 90 % of the documented rate and keep one burst token spare: jitter between our send time
# and the server's arrival time must never turn into a 429 (WB bills those ×10).
CLIENT_RATE_FACTOR = 0.9


class MarketClock:
    """Monotonic clock in marketplace seconds; ``time_scale`` wall seconds per marketplace second."""

    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = time_scale

    def now(self) -> float:
        return time.monotonic() / self.time_scale

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` marketplace seconds."""
        if seconds > 0:
            await asyncio.sleep(seconds * self.time_scale)


@dataclass(frozen=True)
class LimitSpec:
    """A documented limit: ``limit`` units per ``period`` seconds with ``burst`` capacity.

    ``unit`` is ``"requests"`` or ``"items"`` (YM counts offers per minute, not calls).
    """

    limit: float
    period: float
    burst: int = 1
    unit: str = "requests"

    @property
    def rate(self) -> float:
        """Units per second."""
        return self.limit / self.period

    def min_seconds(self, units: int) -> float:
        """Least time to spend ``units`` from a full bucket without exceeding the limit."""
        return max(0.0, (units - self.burst) / self.rate)


class Bucket(Protocol):
    """What a connector's HTTP client needs of one method group's limit (local or shared).

    ``penalize`` and ``block_for`` are synchronous (they are called from error paths); a shared bucket
    applies them before its next ``take``."""

    spec: LimitSpec
    rate: float
    capacity: float

    async def take(self, cost: float = 1.0) -> float:
        """Reserve ``cost`` tokens now; return the marketplace seconds to wait before using them."""
        ...

    async def acquire(self, cost: float = 1.0) -> None: ...

    def penalize(self, cost: float) -> None: ...

    def block_for(self, seconds: float) -> None: ...

    async def level(self) -> float:
        """Tokens in the bucket now (negative: reserved ahead)."""
        ...


class Window(Protocol):
    """What a connector needs of a per-key window (local or shared)."""

    async def take(self, keys: Iterable[str]) -> float:
        """Record one event per key at the earliest legal time; return the wait."""
        ...

    async def acquire(self, keys: Iterable[str]) -> None: ...

    def confirm(self, keys: Iterable[str]) -> None: ...

    def wait_for(self, key: str) -> float: ...

    async def refresh(self, keys: Iterable[str]) -> None:
        """Learn what other processes recorded for ``keys``, so that ``wait_for`` knows of it."""
        ...


class TokenBucket:
    """An async token bucket (reservation style, see the module docstring).

    ``share`` scales the rate and the capacity: a shared bucket falls back on a local one at a share
    of the account's limit while Redis is unreachable."""

    def __init__(
        self, spec: LimitSpec, clock: MarketClock, *, client_side: bool = True, share: float = 1.0
    ) -> None:
        self.spec = spec
        self.clock = clock
        self.rate = spec.rate * (CLIENT_RATE_FACTOR if client_side else 1.0) * share
        self.capacity = max(1.0, float(max(1, spec.burst - 1) if client_side else spec.burst) * share)
        self._tokens = self.capacity
        self._stamp = clock.now()
        self._guard = threading.Lock()  # sharing across loops/threads: protect the arithmetic only

    def _refill(self, now: float) -> None:
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def reserve(self, cost: float = 1.0) -> float:
        """Take ``cost`` tokens now; return how many marketplace seconds the caller must wait."""
        with self._guard:
            self._refill(self.clock.now())
            self._tokens -= cost
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    async def take(self, cost: float = 1.0) -> float:
        return self.reserve(cost)

    async def acquire(self, cost: float = 1.0) -> None:
        """Wait until ``cost`` tokens are ours."""
        await self.clock.sleep(self.reserve(cost))

    async def level(self) -> float:
        return self.tokens

    def penalize(self, cost: float) -> None:
        """Charge extra tokens after the fact (a WB 4xx is billed as 10 requests)."""
        with self._guard:
            self._refill(self.clock.now())
            self._tokens -= cost

    def block_for(self, seconds: float) -> None:
        """The server asked us to wait ``seconds``: no token before then."""
        with self._guard:
            self._refill(self.clock.now())
            self._tokens = min(self._tokens, 1.0 - seconds * self.rate)

    @property
    def tokens(self) -> float:
        with self._guard:
            self._refill(self.clock.now())
            return self._tokens


class KeyedWindow:
    """At most ``max_events`` per ``period`` seconds for each key (Ozon: a stock pair once per 30 s,
    a product's price 10 times per hour). ``reserve`` returns the wait that makes *all* keys legal."""

    def __init__(self, max_events: int, period: float, clock: MarketClock, *, margin: float = 1.05) -> None:
        self.max_events = max_events
        self.period = period * margin
        self.clock = clock
        self._events: dict[str, deque[float]] = {}
        self._guard = threading.Lock()

    def reserve(self, keys: Iterable[str]) -> float:
        """Record one event per key at the earliest legal time; return the wait in seconds."""
        with self._guard:
            now = self.clock.now()
            keys = list(keys)
            start = now
            for key in keys:
                events = self._events.setdefault(key, deque())
                while events and events[0] <= now - self.period:
                    events.popleft()
                if len(events) >= self.max_events:
                    start = max(start, events[-self.max_events] + self.period)
            for key in keys:
                self._events[key].append(start)
            return start - now

    async def take(self, keys: Iterable[str]) -> float:
        return self.reserve(keys)

    async def acquire(self, keys: Iterable[str]) -> None:
        await self.clock.sleep(self.reserve(keys))

    async def refresh(self, keys: Iterable[str]) -> None:
        return None  # one process: it knows every event already

    def confirm(self, keys: Iterable[str]) -> None:
        """Move each key's latest event to now: call it once the server has answered, because the
        server's window starts when the request *arrived*, which may be well after our reservation."""
        with self._guard:
            now = self.clock.now()
            for key in keys:
                events = self._events.get(key)
                if events:
                    events[-1] = max(events[-1], now)

    def wait_for(self, key: str) -> float:
        """Seconds until ``key`` may have another event (nothing is recorded)."""
        with self._guard:
            now = self.clock.now()
            events = [t for t in self._events.get(key, ()) if t > now - self.period]
            if len(events) < self.max_events:
                return 0.0
            return events[-self.max_events] + self.period - now


class LimitStore(Protocol):
    """Where an account's limits live when several processes share them (``connectors.shared_limits``).

    ``account`` is the connector's account key (marketplace, credential fingerprint, host)."""

    def bucket(
        self, account: tuple[object, ...], group: str, spec: LimitSpec, clock: MarketClock
    ) -> Bucket: ...

    def window(
        self, account: tuple[object, ...], name: str, max_events: int, period: float, clock: MarketClock
    ) -> Window: ...


@dataclass
class LimiterSet:
    """Buckets by method-group name for one account; in ``store`` when one is given."""

    specs: dict[str, LimitSpec]
    clock: MarketClock
    buckets: dict[str, Bucket] = field(default_factory=dict)

    windows: dict[str, Window] = field(default_factory=dict)
    account: tuple[object, ...] = ()
    store: LimitStore | None = None

    def bucket(self, group: str) -> Bucket:
        if group not in self.buckets:
            spec = self.specs[group]
            self.buckets[group] = (
                self.store.bucket(self.account, group, spec, self.clock)
                if self.store is not None
                else TokenBucket(spec, self.clock)
            )
        return self.buckets[group]

    def window(self, name: str, max_events: int, period: float) -> Window:
        """The account's per-key window ``name`` (created on first use)."""
        if name not in self.windows:
            self.windows[name] = (
                self.store.window(self.account, name, max_events, period, self.clock)
                if self.store is not None
                else KeyedWindow(max_events, period, self.clock)
            )
        return self.windows[name]


_SHARED: dict[tuple[object, ...], LimiterSet] = {}
_SHARED_GUARD = threading.Lock()
# The store connectors built now share their limits through (None: this process only). A context
# variable rather than an argument: connectors build their limiters themselves, and the pool that
# builds them (``registry.make_connector(limit_store=…)``) sets it around the construction only.
CURRENT_STORE: ContextVar[LimitStore | None] = ContextVar("aimanager_limit_store", default=None)


@contextmanager
def using_store(store: LimitStore | None) -> Iterator[None]:
    """Connectors built inside the block share their limits through ``store``."""
    token = CURRENT_STORE.set(store)
    try:
        yield
    finally:
        CURRENT_STORE.reset(token)


def shared_limiters(key: tuple[object, ...], specs: dict[str, LimitSpec], clock: MarketClock) -> LimiterSet:
    """The process-wide ``LimiterSet`` for an account key (marketplace, credential fingerprint, …),
    so two connector instances for one seller share one budget — and, under a ``LimitStore``
    (``using_store``), every process on every host does."""
    store = CURRENT_STORE.get()
    with _SHARED_GUARD:
        cache_key = (*key, id(store)) if store is not None else key
        found = _SHARED.get(cache_key)
        if found is None or found.clock.time_scale != clock.time_scale or found.store is not store:
            found = _SHARED[cache_key] = LimiterSet(specs=specs, clock=clock, account=key, store=store)
        return found


# --- planning: how many calls and how long a bulk update takes under the documented limits -------


@dataclass(frozen=True)
class BulkProfile:
    """A marketplace's write-path batching and limits, as its connector uses them.

    ``*_limits`` lists every limit the call is subject to (a method limit and, e.g., Ozon's global
    50 rps); the slowest one decides. ``*_follow_calls`` counts status calls per batch the connector
    makes to confirm an async write (WB price upload → one history check).
    """

    marketplace: str
    price_batch: int
    price_limits: tuple[LimitSpec, ...]
    stock_batch: int
    stock_limits: tuple[LimitSpec, ...]
    price_follow_calls: int = 0
    notes: str = ""


@dataclass(frozen=True)
class BulkPlan:
    """Calls and least time for one full update of ``partners`` × ``skus``."""

    calls: int
    calls_per_partner: int
    seconds: float


def plan_bulk(
    batch: int, limits: Iterable[LimitSpec], *, partners: int, skus: int, follow: int = 0
) -> BulkPlan:
    """Plan a full update: partners have their own accounts and limits, so they run in parallel and
    the least time is one partner's; within a partner the slowest limit decides."""
    writes = math.ceil(skus / batch)
    per_partner = writes * (1 + follow)
    seconds = 0.0
    for spec in limits:
        units = skus if spec.unit == "items" else per_partner
        seconds = max(seconds, spec.min_seconds(units))
    return BulkPlan(calls=per_partner * partners, calls_per_partner=per_partner, seconds=seconds)
