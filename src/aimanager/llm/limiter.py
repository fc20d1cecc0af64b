"""Client-side limits: RPM, input-TPM and output-TPM token buckets per provider+model, and adaptive
concurrency.

The buckets mirror the provider's own accounting (Anthropic: requests and input tokens are taken when a
request starts; output is charged with ``max_tokens`` at the start and corrected at the end), so a client
that waits for its buckets is almost never answered 429. Limits are seeded from the configuration and
then taken from the ``*-ratelimit-*`` response headers; ``remaining`` lowers the local level when the
server knows of traffic we do not (another process, another tool on the same key).

The buckets themselves live in :mod:`aimanager.llm.buckets` (in process, or Redis shared by every
worker).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from aimanager.handoff import PriorityHandoff
from aimanager.llm.buckets import KINDS, BucketBackend, Limits, MemoryBuckets
from aimanager.llm.types import RateLimitInfo
from aimanager.logs import get_logger

log = get_logger(__name__)
# A learned burst never goes below this (seconds of refill), and grows back by this factor per answer.
MIN_BURST_S = 0.01
BURST_GROWTH = 1.02


@dataclass(slots=True)
class Reservation:
    """What one call took, so it can be corrected when the real usage is known."""

    key: str
    input_tokens: int
    output_tokens: int


class _Gate:
    """A lock whose waiters are served by priority (lower first), first come first served among equals."""

    def __init__(self) -> None:
        self._held = False
        self._waiters: PriorityHandoff[None] = PriorityHandoff()

    async def acquire(self, priority: int) -> None:
        if not self._held:
            self._held = True
            return
        # release() hands the lock over, already held for us; handed over as we were cancelled,
        # it is released again for the next waiter.
        await self._waiters.wait(priority, lambda _: self.release())

    def release(self) -> None:
        if not self._waiters.hand_over(None):
            self._held = False

    @property
    def held(self) -> bool:
        return self._held


@dataclass(slots=True)
class RateLimiter:
    """Token buckets per provider+model over a backend; ``burst_seconds`` of refill is the capacity."""

    backend: BucketBackend = field(default_factory=MemoryBuckets)
    defaults: dict[str, Limits] = field(default_factory=dict)
    burst_seconds: float = 1.0
    learned: dict[str, Limits] = field(default_factory=dict)
    waits: int = 0
    # One queue per key: requests get their tokens in the order they asked (by priority first, so a
    # single narrative does not wait behind minutes of card packs). Without it every waiter sleeps and
    # retries on its own and the bucket goes to whoever wakes first, so a partner's packs finish in
    # random order and every partner's cards land at the very end of a backlog.
    _gates: dict[str, _Gate] = field(default_factory=dict)
    # The depth of each key's buckets as learned from refusals (see ``throttled``), in seconds of refill.
    _burst: dict[str, float] = field(default_factory=dict)
    _ceiling: dict[str, float] = field(default_factory=dict)
    _shrunk_until: dict[str, float] = field(default_factory=dict)
    _shrunk_at: dict[str, float] = field(default_factory=dict)

    def limits(self, key: str) -> Limits:
        return self.learned.get(key) or self.defaults.get(key) or self.defaults.get("*") or Limits()

    def burst_of(self, key: str) -> float:
        """Seconds of refill this key's buckets hold now (``burst_seconds`` until a refusal taught less)."""
        return self._burst.get(key, self.burst_seconds)

    def _shape(self, per_minute: float, key: str) -> tuple[float, float]:
        rate = per_minute / 60.0
        return rate, max(1.0, rate * self.burst_of(key))

    async def acquire(
        self,
        key: str,
        input_tokens: int,
        output_tokens: int,
        *,
        priority: int = 1,
        resize: Callable[[], tuple[int, int]] | None = None,
    ) -> Reservation:
        """Wait until one request with these token counts fits every known bucket, and take it.

        Waiters are served by ``priority`` (lower first), then in the order they asked. ``resize``
        gives the counts again each time the request tries the buckets: a request that waited (a pack
        built before the output budget was learned) reserves what it will be sent with, not what it
        was first sized at — at start that is several times less, and the wait is for the smaller."""
        gate: _Gate | None = None
        try:
            while True:
                if resize is not None:
                    input_tokens, output_tokens = resize()
                wants = self._wants(key, input_tokens, output_tokens)
                if not wants:
                    break
                if gate is None:
                    gate = self._gates.setdefault(key, _Gate())
                    await gate.acquire(priority)
                    continue  # sized again now that it is this request's turn
                wait = await self.backend.reserve(key, wants)
                if wait <= 0:
                    break
                self.waits += 1
                await asyncio.sleep(min(wait, 5.0))
        finally:
            if gate is not None:
                gate.release()
        return Reservation(key, input_tokens, output_tokens)

    def queued(self, key: str) -> bool:
        """True while a request waits for ``key``'s buckets (the limits are the bottleneck now)."""
        gate = self._gates.get(key)
        return gate is not None and gate.held

    def _wants(
        self, key: str, input_tokens: int, output_tokens: int
    ) -> list[tuple[str, float, float, float]]:
        limits = self.limits(key)
        wants = []
        for kind, amount in (("rpm", 1), ("itpm", input_tokens), ("otpm", output_tokens)):
            per_minute = limits.of(kind)
            if per_minute:
                rate, capacity = self._shape(per_minute, key)
                # A request larger than our burst (a 20-card pack's max_tokens is more than a second of
                # an 800k/min limit) waits until its whole amount has refilled: the provider's deeper
                # bucket admits it only then. Sent once a second's worth was back, it was answered 429,
                # and while it retried, the calls queued behind it took its tokens (a job failed).
                wants.append((kind, float(amount), rate, max(capacity, float(amount))))
        return wants

    async def settle(self, reservation: Reservation, input_tokens: int, output_tokens: int) -> None:
        """Refund (or charge) the difference between the estimate and the real usage."""
        limits = self.limits(reservation.key)
        for kind, delta in (
            ("itpm", reservation.input_tokens - input_tokens),
            ("otpm", reservation.output_tokens - output_tokens),
        ):
            per_minute = limits.of(kind)
            if per_minute and delta:
                await self.backend.adjust(
                    reservation.key, kind, float(delta), *self._shape(per_minute, reservation.key)
                )

    async def observe(self, key: str, info: RateLimitInfo) -> None:
        """Learn limits from response headers and lower local levels to the server's ``remaining``."""
        current = self.limits(key)
        learned = Limits(
            rpm=info.requests_limit or current.rpm,
            itpm=info.input_tokens_limit or current.itpm,
            otpm=info.output_tokens_limit or current.otpm,
        )
        if learned != current:
            log.info("llm.limits.learned", key=key, rpm=learned.rpm, itpm=learned.itpm, otpm=learned.otpm)
        self.learned[key] = learned
        self._grow_burst(key)
        for kind, remaining in (
            ("rpm", info.requests_remaining),
            ("itpm", info.input_tokens_remaining),
            ("otpm", info.output_tokens_remaining),
        ):
            per_minute = learned.of(kind)
            if per_minute and remaining is not None:
                await self.backend.clamp(key, kind, float(remaining), *self._shape(per_minute, key))

    async def throttled(
        self,
        key: str,
        retry_after: float | None,
        reserved_at: float | None = None,
        wanted: tuple[int, int] | None = None,
    ) -> None:
        """A 429 arrived: empty every bucket so nobody sends before ``retry_after``; the refused call
        then queues here for its tokens again, first in line (``call_events.CallEvents.before_retry``).

        The token buckets too, not just the request one: a 429 means the provider has less than we
        counted (its burst is shallower than ours, or another client shares the key). Held only at the
        request bucket, the calls queued here would leave the moment it refills, take the tokens the
        refused call waits for, and that call would be refused again until its retries ran out.

        A refusal also teaches that the provider's buckets are shallower than ours (providers do not say
        how deep they are): refunds of unused ``max_tokens`` that our deeper bucket kept, the provider's
        had dropped, and we sent on tokens it did not have. So the burst is halved — once per refusal
        window, since one shortfall refuses every call sent into it — and grows back slowly to just under
        the depth that was refused (``_grow_burst``). A refusal of tokens taken (``reserved_at``, monotonic)
        before the last lowering says nothing about the lowered depth, and lowers nothing; nor does one
        that asks for a longer wait than the refused call's own tokens (``wanted``: input, output) take
        to refill: a bucket admits a call once it holds the call's amount, so a longer hold is about
        something else (an acceleration limit, another client on the key), and halving the burst for
        each of those, a provider's odd 429 took it from 1 s to 0.03 s in one run."""
        if not self._longer_than_refill(key, retry_after, wanted):
            self._shrink_burst(key, retry_after, reserved_at)
        limits = self.limits(key)
        for kind in KINDS:
            per_minute = limits.of(kind)
            if per_minute:
                rate, capacity = self._shape(per_minute, key)
                await self.backend.clamp(key, kind, -rate * (retry_after or 1.0), rate, capacity)

    def _longer_than_refill(
        self, key: str, retry_after: float | None, wanted: tuple[int, int] | None
    ) -> bool:
        if retry_after is None or wanted is None:
            return False
        limits = self.limits(key)
        refill = [
            amount / (per_minute / 60.0)
            for kind, amount in (("rpm", 1), ("itpm", wanted[0]), ("otpm", wanted[1]))
            if (per_minute := limits.of(kind))
        ]
        # A little slack: the server's clock and its rounding of retry-after are not ours.
        return bool(refill) and retry_after > 1.2 * max(refill) + 0.05

    def _shrink_burst(self, key: str, retry_after: float | None, reserved_at: float | None) -> None:
        now = time.monotonic()
        if reserved_at is not None and reserved_at < self._shrunk_at.get(key, float("-inf")):
            return  # taken from the deeper burst before it was lowered: no news about the lower one
        if now < self._shrunk_until.get(key, 0.0):
            return
        refused = self.burst_of(key)
        self._burst[key] = max(MIN_BURST_S, refused * 0.5)
        self._ceiling[key] = max(MIN_BURST_S, refused * 0.8)
        self._shrunk_until[key] = now + max(retry_after or 0.0, 0.05)
        self._shrunk_at[key] = now
        log.info("llm.limits.burst_lowered", key=key, burst_s=round(self._burst[key], 4))

    def _grow_burst(self, key: str) -> None:
        burst = self._burst.get(key)
        if burst is not None and burst < self._ceiling[key]:
            self._burst[key] = min(self._ceiling[key], burst * BURST_GROWTH)

    async def close(self) -> None:
        await self.backend.close()


class AdaptiveConcurrency:
    """How many calls may be in flight: grows while latency stays flat, halves on overload (AIMD).

    Growth starts as slow start (+1 per success, i.e. doubling per round trip) and turns additive
    (+1 per window of successes) after the first decrease, like TCP congestion control.

    An overload (429/529) halves the limit only when it is not isolated: ``overload_share`` of the
    last ``window`` outcomes. A provider under load fails many calls in a row; the odd 529 of a
    healthy one (a few per cent of calls) would otherwise halve the limit again and again while
    additive growth wins back one slot per window, and throughput falls far below the rate limits.
    """

    def __init__(
        self,
        initial: int = 16,
        minimum: int = 1,
        maximum: int = 1024,
        *,
        window: int = 20,
        overload_share: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = float(initial)
        self.minimum, self.maximum = minimum, maximum
        self.in_flight = 0
        self.slow_start = True
        self.baseline: float | None = None
        self.ewma: float | None = None
        self._last_cut = 0.0
        self._recent: deque[bool] = deque(maxlen=window)  # True: an overload
        self._overloads_to_cut = max(2, math.ceil(window * overload_share))
        self._clock = clock
        self._cond = asyncio.Condition()

    async def acquire(self) -> None:
        async with self._cond:
            await self._cond.wait_for(lambda: self.in_flight < int(self.limit))
            self.in_flight += 1

    async def release(self) -> None:
        async with self._cond:
            self.in_flight -= 1
            self._cond.notify_all()

    def on_success(self, latency_s: float, output_tokens: int = 0) -> None:
        """Grow while the latency average stays within 2× the best seen (a queue building up at the
        server shows as rising latency before it shows as errors).

        A model's latency grows with what it writes (a 20-card pack takes 20× a single card), so the
        latency compared is per size: seconds per (1 + thousands of output tokens)."""
        self._recent.append(False)
        latency_s = latency_s / (1.0 + output_tokens / 1000.0)
        self.baseline = latency_s if self.baseline is None else min(self.baseline, latency_s)
        self.ewma = latency_s if self.ewma is None else 0.9 * self.ewma + 0.1 * latency_s
        if self.ewma > 2.0 * max(self.baseline, 1e-3):
            return
        step = 1.0 if self.slow_start else 1.0 / max(self.limit, 1.0)
        self.limit = min(float(self.maximum), self.limit + step)

    def at_least(self, needed: float) -> None:
        """Raise the limit to ``needed`` calls (up to the maximum) unless an overload cut it within
        the last minute: what the rate limits allow in flight, given how long each call takes."""
        if self._clock() - self._last_cut < 60.0 and self._last_cut:
            return
        if needed > self.limit:
            self.limit = min(float(self.maximum), needed)

    def on_overload(self) -> None:
        """Halve once overloads make up ``overload_share`` of the recent outcomes, at most once per
        best-latency interval (many in-flight calls report the same event)."""
        self._recent.append(True)
        if sum(self._recent) < self._overloads_to_cut:
            return
        now = self._clock()
        if now - self._last_cut < max(self.baseline or 0.0, 0.05):
            return
        self._last_cut = now
        self._recent.clear()
        self.slow_start = False
        self.limit = max(float(self.minimum), self.limit / 2)
        log.info("llm.concurrency.cut", limit=int(self.limit))
