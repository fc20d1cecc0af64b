"""AIMD concurrency: isolated overloads do not cut it, a provider under load does."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from aimanager.llm.limiter import AdaptiveConcurrency


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_slow_start_doubles_per_round_trip_then_a_burst_of_overloads_halves_it_once() -> None:
    c = AdaptiveConcurrency(initial=4, clock=Clock())
    for _ in range(4):
        c.on_success(1.0)
    assert c.limit == 8
    for _ in range(10):  # one overloaded round trip: every in-flight call reports it
        c.on_overload()
    assert c.limit == 4 and not c.slow_start


def test_an_isolated_overload_among_successes_does_not_cut() -> None:
    clock = Clock()
    c = AdaptiveConcurrency(initial=16, clock=clock)
    for i in range(200):
        clock.now += 0.5
        if i % 20 == 0:  # 5 % of calls: a healthy provider's odd 529
            c.on_overload()
        else:
            c.on_success(1.0)
    assert c.slow_start and c.limit >= 16


# Derandomized: the same 30 seeds every run, so CI never meets a new unlucky streak by chance.
@settings(max_examples=30, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32 - 1))
def test_random_five_per_cent_overloads_keep_most_of_the_limit(seed: int) -> None:
    rng = random.Random(seed)
    clock = Clock()
    c = AdaptiveConcurrency(initial=16, maximum=32, clock=clock)
    for _ in range(500):
        clock.now += 3.5 / c.limit  # completions arrive latency / concurrency apart
        if rng.random() < 0.05:
            c.on_overload()
        else:
            c.on_success(rng.uniform(2.0, 5.0))
    # Cutting on every overload would leave the limit at one or two slots; an unlucky streak of
    # overloads (4 in 20 happens at a 5 % rate) may cost a halving or two, not more.
    assert c.limit >= 6


def test_a_provider_failing_most_calls_is_backed_off_to_the_minimum() -> None:
    clock = Clock()
    c = AdaptiveConcurrency(initial=64, minimum=2, clock=clock)
    for _ in range(40):
        clock.now += 1.0
        c.on_overload()
    assert c.limit == 2


def test_latency_that_grows_with_the_answer_size_is_not_read_as_a_queue() -> None:
    """A one-card re-ask (~9 s) next to 20-card packs (~160 s at 150 tokens/s) used to set a baseline the
    packs could never meet, and growth stopped at 16 calls in flight."""
    c = AdaptiveConcurrency(initial=16, clock=Clock())
    c.on_success(8.75, 1_200)
    for _ in range(40):
        c.on_success(160.75, 24_000)
    assert c.limit > 50


def test_the_limit_opens_to_what_the_rate_limits_need_unless_just_cut() -> None:
    clock = Clock()
    c = AdaptiveConcurrency(initial=16, maximum=1024, clock=clock)
    c.at_least(96.0)  # 800k output tokens/min × 160 s per call ÷ 24k tokens per call × 1.2
    assert c.limit == 96
    c.at_least(5000.0)
    assert c.limit == 1024
    for _ in range(10):
        c.on_overload()
    cut = c.limit
    assert cut == 512
    c.at_least(2000.0)  # the provider just pushed back: the rate limits do not overrule it
    assert c.limit == cut
    clock.now += 61.0
    c.at_least(2000.0)
    assert c.limit == 1024


async def test_429s_cut_the_calls_in_flight_only_while_the_limits_are_unknown() -> None:
    # Known limits: the limiter paces the rates, and halving the calls in flight too would hold the
    # work under the limits for a minute. Unknown: the concurrency controller is the only brake.
    import asyncio

    from aimanager.llm.buckets import Limits
    from aimanager.llm.call_events import CallEvents
    from aimanager.llm.calls import Caller
    from aimanager.llm.limiter import RateLimiter
    from aimanager.llm.router import Router
    from aimanager.llm.types import GatewayStats

    for defaults, cut in (({"m": Limits(otpm=800_000)}, False), ({}, True)):
        concurrency = AdaptiveConcurrency(initial=64)
        caller = Caller({}, Router({}, {}, ()), RateLimiter(defaults=defaults), concurrency, GatewayStats())
        events = CallEvents(caller, "m")
        for _ in range(10):
            events.on_throttled(0.01)
        await asyncio.gather(*caller.background)
        assert (concurrency.limit < 64) is cut, defaults
        assert caller.stats.retries == 10
