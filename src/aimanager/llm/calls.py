"""One logical call: pick a model (with fallback), wait for the limiter and a concurrency slot, send.

A spend cap pauses every call for ``spend_cap_pause_s`` (``AIMANAGER_LLM_SPEND_CAP_PAUSE_SECONDS``,
15 minutes by default) and then lets them through again by itself: calls in the pause fail at once as
"call" (``CallFailed`` with ``retry_after``), so their jobs are retried later by the engine instead of
the worker dead-lettering every LLM job until it is restarted.

Fallback has a price ladder: a model priced more than ``max_fallback_price_ratio`` × the route's first
model is not a fallback at all (a 30-second outage of a $0.10 model must not move the run to a $2.00
one); the call fails as "call" and its job is retried after the outage. A cheaper-or-near fallback that
answers is counted, and what it cost beyond the first model's price is reported
(``pricier_fallback_calls``, ``fallback_extra_usd``). Escalation to a larger tier is a separate,
deliberate step (``card_flow``), never a side effect of an outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from aimanager.llm.call_events import CallEvents
from aimanager.llm.errors import (
    GatewayClosed,
    ProviderOverloaded,
    ProviderTimedOut,
    ProviderUnavailable,
    RateLimited,
    SpendCapReached,
)
from aimanager.llm.ledger_inflight import Ticket
from aimanager.llm.limiter import AdaptiveConcurrency, RateLimiter
from aimanager.llm.prices import PriceTable
from aimanager.llm.providers.base import Provider
from aimanager.llm.router import Router
from aimanager.llm.tokens import TokenCalibration, estimate_tokens, image_tokens
from aimanager.llm.types import GatewayStats, ModelRef, ProviderRequest, ProviderResponse
from aimanager.logs import get_logger

log = get_logger(__name__)
FALLBACK_ERRORS = (ProviderOverloaded, ProviderUnavailable, RateLimited)
# How long calls wait for the probe at most (a stuck probe must not stall the gateway).
PROBE_WAIT_S = 30.0
# A first call asking for more output than this is not made the probe: it would run for minutes.
PROBE_ABOVE_TOKENS = 8_000
# Output speed of one call assumed before any is measured: the slow end of real models, so the first
# wave opens enough calls (the limiter, not the slot count, keeps them within the limits).
PRIOR_TOKENS_PER_S = 100.0


def default_spend_cap_pause_s() -> float:
    """Seconds LLM calls pause after a spend cap (a provider's billing window is minutes to hours)."""
    return float(os.environ.get("AIMANAGER_LLM_SPEND_CAP_PAUSE_SECONDS", "900"))


@dataclass(slots=True)
class CallFailed(Exception):
    """Every model of the route failed; ``reason`` says how (for the item errors). ``retry_after``:
    seconds before trying again is worth it (a spend-cap pause), when known."""

    reason: str
    retry_after: float | None = None


class Caller:
    """Sends requests through the limiter with fallback across a route's models."""

    def __init__(
        self,
        providers: dict[str, Provider],
        router: Router,
        limiter: RateLimiter,
        concurrency: AdaptiveConcurrency,
        stats: GatewayStats,
        prices: PriceTable | None = None,
        max_fallback_price_ratio: float | None = None,
        spend_cap_pause_s: float | None = None,
    ) -> None:
        self.prices = prices
        self.max_fallback_price_ratio = max_fallback_price_ratio
        self.calibration = TokenCalibration()
        self._speed: dict[str, float] = {}  # model key → output tokens per second of one call (mean)
        self.providers = providers
        self.router = router
        self.limiter = limiter
        self.concurrency = concurrency
        self.stats = stats
        self.spend_cap_pause_s = (
            default_spend_cap_pause_s() if spend_cap_pause_s is None else spend_cap_pause_s
        )
        self.spend_cap: SpendCapReached | None = None  # the cap that started the current pause
        self.paused_until = 0.0  # time.monotonic() when calls go out again
        self._closed: GatewayClosed | None = None
        self.background: set[asyncio.Future[None]] = set()
        self._probes: dict[str, asyncio.Event] = {}

    async def _probe_first(self, key: str, provider: Provider, request: ProviderRequest) -> bool:
        """While a model's limits are unknown, hold every call but one until the limits are known: a
        cold start of 16 packs would overdraw the output-token bucket before we learn its size.

        The first call is the probe when it is small. A large one (a 20-card pack runs for minutes)
        would hold the rest that long, so a 1-token request goes first instead and brings the
        rate-limit headers back in about a second; its few tokens are counted (``probe_calls``).
        Returns True for the caller whose own call is the probe."""
        if self.limiter.limits(key).known:
            return False
        event = self._probes.get(key)
        if event is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), PROBE_WAIT_S)
            return False
        event = self._probes[key] = asyncio.Event()
        if request.max_tokens <= PROBE_ABOVE_TOKENS:
            return True
        try:
            await self._ping(key, provider, request.model)
        finally:
            event.set()
        return False

    async def learn_limits(self, ref: ModelRef) -> None:
        """Learn ``ref``'s rate limits now, with a 1-token call, unless they are known or being learned:
        real-time work that will follow all at once (a batch's leftovers, the moment it ends) then goes
        out paced at once instead of held behind a probe. Never raises."""
        key = str(ref)
        provider = self.providers.get(ref.provider)
        if provider is None or self.limiter.limits(key).known or key in self._probes:
            return
        event = self._probes[key] = asyncio.Event()
        try:
            await self._ping(key, provider, ref.model)
        finally:
            event.set()

    async def _ping(self, key: str, provider: Provider, model: str) -> None:
        """A 1-token request whose answer brings the rate-limit headers (its tokens are counted)."""
        try:
            response = await provider.complete(ProviderRequest(model, "", "ping", 1, cache_system=False))
        except Exception as exc:  # the real call meets the same problem and reports it
            log.info("llm.limits_probe_failed", model=key, error=str(exc))
            return
        await self.limiter.observe(key, response.limits)
        self._keep_limits_busy(key)
        self.stats.probe_calls += 1
        self.stats.usage = self.stats.usage + response.usage
        if self.prices is not None:
            with contextlib.suppress(Exception):
                self.stats.cost_usd += self.prices.cost(model, response.usage)

    def _probe_done(self, key: str) -> None:
        event = self._probes.get(key)
        if event is not None:
            event.set()

    @property
    def stopped(self) -> GatewayClosed | None:
        """The gateway's closing, which stops every call for good (a spend cap only pauses them)."""
        return self._closed

    @stopped.setter
    def stopped(self, exc: SpendCapReached | GatewayClosed | None) -> None:
        if isinstance(exc, SpendCapReached):
            self.pause_for_spend_cap(exc)
        else:
            self._closed = exc

    def pause_for_spend_cap(self, exc: SpendCapReached) -> None:
        """Hold every call for ``spend_cap_pause_s`` from now; they resume by themselves after it."""
        self.spend_cap = exc
        self.paused_until = time.monotonic() + self.spend_cap_pause_s
        log.error(
            "llm.spend_cap.paused", request_id=exc.request_id, pause_s=self.spend_cap_pause_s, error=str(exc)
        )

    def paused_for(self) -> float:
        """Seconds left of a spend-cap pause (0 when calls may go out)."""
        left = self.paused_until - time.monotonic()
        if left <= 0 and self.spend_cap is not None:
            log.info("llm.spend_cap.resumed")
            self.spend_cap = None
        return max(0.0, left)

    def check_open(self) -> None:
        if self._closed is not None:
            raise self._closed

    def _check_not_paused(self) -> None:
        left = self.paused_for()
        if left > 0:
            raise CallFailed(
                f"provider spend cap reached ({self.spend_cap}); LLM calls paused for {left:.0f} s more",
                retry_after=left,
            )

    async def call(
        self,
        models: tuple[ModelRef, ...],
        build: Callable[[str], ProviderRequest],
        *,
        priority: int = 1,
        ticket: Ticket | None = None,
    ) -> tuple[ModelRef, ProviderResponse]:
        """Try ``models`` in order (cooling ones last); raise ``CallFailed`` when all fail.

        ``priority`` orders waiters for the rate limits (0 before 1). ``ticket``: the call's in-flight
        ledger rows, written before each attempt goes out (see ``ledger_inflight``)."""
        reasons: list[str] = []
        primary = next((m for m in models if m.provider in self.providers), None)
        for attempt, ref in enumerate(self.router.ordered(models)):
            self.check_open()
            self._check_not_paused()
            provider = self.providers.get(ref.provider)
            if provider is None:
                continue
            if primary is not None and ref != primary and self._too_dear(primary, ref):
                reasons.append(
                    f"{ref}: not a fallback (priced over {self.max_fallback_price_ratio}× {primary})"
                )
                continue
            if attempt:
                self.stats.fallbacks += 1
                log.warning("llm.fallback", to=str(ref), after="; ".join(reasons)[-300:])
            request = build(ref.model)
            key = str(ref)
            probe = await self._probe_first(key, provider, request)
            await self.concurrency.acquire()

            estimate = 0

            def size(model: str = ref.model) -> tuple[int, int]:
                # Built again when its turn comes: budgets learned while it waited apply to it.
                nonlocal request, estimate
                request = build(model)
                # Images are billed by their pixel size, not their bytes: counted apart from the text.
                pictures = sum(image_tokens(model, i.width, i.height) for i in request.images)
                estimate = self.calibration.estimate(model, request.system + request.user) + pictures
                return estimate, request.max_tokens

            try:
                reservation = await self.limiter.acquire(key, *size(), priority=priority, resize=size)
                reserved_at = time.monotonic()
                try:
                    if ticket is not None:  # in the ledger before the provider sees it (or not sent)
                        await ticket.open(ref, request, estimate)
                    taken = (reservation.input_tokens, reservation.output_tokens)
                    response = await provider.complete(
                        request, CallEvents(self, key, ticket, taken, reserved_at)
                    )
                except BaseException as exc:
                    # An error status: nothing was billed, the reservation goes back so the buckets
                    # stay honest. A timeout may have been generated: the provider's buckets took it.
                    if not isinstance(exc, ProviderTimedOut):
                        await self.limiter.settle(reservation, 0, 0)
                    if ticket is not None:
                        await ticket.failed(exc)
                    raise
                if ticket is not None:
                    ticket.answered(response)
            except SpendCapReached as exc:
                self.pause_for_spend_cap(exc)
                raise CallFailed(
                    f"{ref}: provider spend cap reached ({exc}); LLM calls paused for "
                    f"{self.spend_cap_pause_s:.0f} s",
                    retry_after=self.spend_cap_pause_s,
                ) from exc
            except FALLBACK_ERRORS as exc:
                self.router.cool(ref)
                reasons.append(f"{ref}: {exc}")
                continue
            finally:
                await self.concurrency.release()
                if probe:
                    self._probe_done(key)
            usage = response.usage
            pictures = sum(image_tokens(ref.model, i.width, i.height) for i in request.images)
            self.calibration.observe(
                ref.model,
                estimate_tokens(request.system + request.user),
                usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens - pictures,
            )
            if primary is not None and ref != primary:
                self._count_fallback(primary, ref, response)
            await self.limiter.settle(
                reservation, usage.input_tokens + usage.cache_write_tokens, usage.output_tokens
            )
            await self.limiter.observe(key, response.limits)
            if probe:
                self._probe_done(key)
            self.concurrency.on_success(response.latency_s, usage.output_tokens)
            self._keep_limits_busy(key, response)
            self.stats.calls += 1
            log.debug("llm.call", model=key, latency_s=round(response.latency_s, 3), retries=response.retries)
            return ref, response
        raise CallFailed("; ".join(reasons) or "no configured provider for this route")

    def _keep_limits_busy(self, key: str, response: ProviderResponse | None = None) -> None:
        """Calls in flight needed for the output-tokens limit to stay busy (Little's law): the limit's
        tokens per second ÷ the tokens per second one call writes, a fifth more for the spread. Whatever
        the pack size, a model writing ~150 tokens/s per call needs ~90 calls in flight to use an
        800k/min limit — far more than a latency-led controller opens on its own, and needed from the
        first call on (a real pack takes minutes to report back). Before any answer, a slow prior speed."""
        if response is not None and response.usage.output_tokens and response.latency_s > 0:
            speed = response.usage.output_tokens / response.latency_s
            seen = self._speed.get(key)
            self._speed[key] = speed if seen is None else seen + 0.1 * (speed - seen)
        if needed := self._calls_needed(key):
            self.concurrency.at_least(needed)

    def _calls_needed(self, key: str) -> float:
        """Calls in flight that keep ``key``'s output-tokens limit busy: its tokens per second ÷ one
        call's, a fifth more for the spread (0 while the limit is unknown)."""
        otpm = self.limiter.limits(key).otpm
        return 1.2 * otpm / 60.0 / self._speed.get(key, PRIOR_TOKENS_PER_S) if otpm else 0.0

    def calls_to_keep_busy(self, ref: ModelRef) -> float:
        """``_calls_needed`` of ``ref`` once a call's speed was measured (0 before)."""
        key = str(ref)
        return self._calls_needed(key) if key in self._speed else 0.0

    def spare_calls(self, ref: ModelRef, running: int = 0) -> int:
        """How many more calls ``ref``'s limits could take now: none while calls queue for its rate
        limits (they are busy), while they are unknown or before a call's speed was measured; else the
        calls the limit needs less those in flight (or ``running``, the caller's own count of calls it
        started, if more). A packed call lasts as long as it writes (a 20-card pack, minutes), so when
        the items at hand make fewer calls than that, the limit idles unless they go in smaller calls."""
        key = str(ref)
        if self.limiter.queued(key) or key not in self._speed:
            return 0
        return max(0, int(self._calls_needed(key)) - max(running, self.concurrency.in_flight))

    def _too_dear(self, primary: ModelRef, ref: ModelRef) -> bool:
        if self.prices is None or self.max_fallback_price_ratio is None:
            return False
        try:
            first, other = self.prices.price(primary.model).base, self.prices.price(ref.model).base
        except Exception:  # an unpriced model is refused where it is billed, with its own message
            return False
        limit = Decimal(str(self.max_fallback_price_ratio))
        return other.input > first.input * limit or other.output > first.output * limit

    def _count_fallback(self, primary: ModelRef, ref: ModelRef, response: ProviderResponse) -> None:
        if self.prices is None:
            return
        try:
            extra = self.prices.cost(ref.model, response.usage) - self.prices.cost(
                primary.model, response.usage
            )
        except Exception:
            return
        if extra > 0:
            self.stats.pricier_fallback_calls += 1
            self.stats.fallback_extra_usd += extra
            log.warning("llm.fallback.pricier", model=str(ref), instead_of=str(primary), extra_usd=str(extra))
