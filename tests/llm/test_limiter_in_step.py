"""The client's buckets stay in step with the provider's, so calls are not refused (429) and retried.

The provider here is the LLM sandbox's own admission (``SandboxState.admit``: a continuous-refill bucket
that charges ``max_tokens`` when a request starts). Each call asks the client limiter first, then the
provider; a refusal is reported to the limiter (as the retry loop does) and retried after the wait the
provider gave. Nothing is answered, so no tokens come back: each call uses what it asked for.
"""

from __future__ import annotations

import asyncio

from aimanager.llm.buckets import Limits
from aimanager.llm.limiter import RateLimiter
from aimanager_sandbox.llm import SandboxConfig, SandboxState

OTPM = 6_000_000  # 100,000 output tokens a second


def provider(burst_s: float) -> SandboxState:
    return SandboxState(SandboxConfig(rpm=None, itpm=None, otpm=OTPM, burst_seconds=burst_s))


async def refusals(state: SandboxState, limiter: RateLimiter, calls: int, tokens: int) -> int:
    refused = 0

    async def one() -> None:
        nonlocal refused
        await limiter.acquire("m", 0, tokens)
        for _ in range(50):
            wait, _which = state.admit("m", 0, tokens)
            if wait <= 0:
                return
            refused += 1
            await limiter.throttled("m", wait)
            await asyncio.sleep(wait)
        raise AssertionError("a call was refused fifty times in a row")

    await asyncio.gather(*(one() for _ in range(calls)))
    return refused


async def test_a_provider_with_a_shallower_burst_refuses_only_the_first_wave() -> None:
    # Ours holds 50 ms of refill (five calls), the provider's 20 ms (two): the first wave is refused
    # in part; then every bucket is held for the wait the provider gave, and the two stay in step.
    limiter = RateLimiter(defaults={"m": Limits(otpm=OTPM)}, burst_seconds=0.05)
    refused = await refusals(provider(0.02), limiter, calls=60, tokens=1_000)
    # Holding only the request bucket, the client stayed three calls ahead: ~half of them refused.
    assert refused <= 8


async def test_a_call_larger_than_our_burst_waits_for_all_of_its_tokens() -> None:
    # Ours holds 10 ms of refill, less than one call (15 ms); the provider's 20 ms. Sent when ours had
    # refilled (10 ms' worth), a call found the provider short of its 15 ms and was refused.
    limiter = RateLimiter(defaults={"m": Limits(otpm=OTPM)}, burst_seconds=0.01)
    state = provider(0.02)
    state.admit("m", 0, 1_999)  # the provider's bucket is as low as ours: another call just went
    await limiter.acquire("m", 0, 1_000)
    assert await refusals(state, limiter, calls=40, tokens=1_500) == 0


async def test_a_provider_much_shallower_than_us_teaches_its_depth_and_stops_refusing() -> None:
    # Ours holds 300 ms of refill, the provider's 30 ms (one call of 2,000 tokens at a time, not two).
    # Each wave comes after both have refilled: ours would send all eight at once, every wave, and the
    # provider refuse most of them. A refusal halves our depth; a few waves in, we send no more than
    # the provider holds, and the later waves are not refused at all.
    limiter = RateLimiter(defaults={"m": Limits(otpm=OTPM)}, burst_seconds=0.3)
    state = provider(0.03)
    per_wave = []
    for _ in range(14):
        await asyncio.sleep(0.35)  # both buckets full again (the fill is what is tested, not a time)
        per_wave.append(await refusals(state, limiter, calls=8, tokens=2_000))
    assert per_wave[0] > 0  # the first wave found out
    assert sum(per_wave[-6:]) == 0, per_wave
    assert limiter.burst_of("m") <= 0.03


async def test_a_refused_call_queues_for_its_tokens_again_before_its_retry() -> None:
    # Retried on its own after the server's few milliseconds, every call refused in one burst went
    # again at once, was refused again, and ran out of retries; and our buckets never counted the
    # tokens the retry took. Now the retry waits in the limiter's queue (first in line) and takes them.
    from aimanager.llm.call_events import CallEvents
    from aimanager.llm.calls import Caller
    from aimanager.llm.limiter import AdaptiveConcurrency
    from aimanager.llm.router import Router
    from aimanager.llm.types import GatewayStats

    for defaults, queued in (({"m": Limits(otpm=OTPM)}, True), ({}, False)):
        limiter = RateLimiter(defaults=defaults, burst_seconds=0.05)
        caller = Caller({}, Router({}, {}, ()), limiter, AdaptiveConcurrency(), GatewayStats())
        await limiter.acquire("m", 0, 2_000)  # what the refused attempt had taken
        events = CallEvents(caller, "m", size=(0, 2_000))
        events.on_throttled(0.01)  # the retry loop reports the 429, then waits before the retry
        await events.before_retry("throttled", 0.01)
        # Known limits: it waited for the refill after the emptied buckets and took its 2,000 tokens;
        # unknown (nothing to queue on): the server's wait alone.
        assert (limiter.waits > 0) is queued, defaults


async def test_a_refusal_that_holds_longer_than_the_calls_own_refill_keeps_the_burst() -> None:
    # A bucket admits a call once it holds the call's amount: a shortfall of depth never needs a longer
    # wait than that. A longer hold (an acceleration limit, another client, a provider's odd 429) is no
    # lesson about our depth; halving for each of those took the burst from 1 s to 0.03 s in one run.
    limiter = RateLimiter(defaults={"m": Limits(otpm=OTPM)}, burst_seconds=0.3)
    await limiter.throttled("m", 2.0, wanted=(0, 2_000))  # 2,000 tokens refill in 20 ms, not 2 s
    assert limiter.burst_of("m") == 0.3
    await limiter.throttled("m", 0.015, wanted=(0, 2_000))  # a depth shortfall
    assert limiter.burst_of("m") == 0.15
