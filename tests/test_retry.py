"""The shared retry timing: backoff bounds and every form of a server's wait hint."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from hypothesis import given
from hypothesis import strategies as st

from aimanager.retry import Backoff, parse_delay, retry_after


@given(attempt=st.integers(min_value=1, max_value=60), seed=st.integers(0, 2**32))
def test_full_jitter_stays_under_the_capped_step(attempt: int, seed: int) -> None:
    b = Backoff(base=0.5, cap=30.0)
    step = min(30.0, 0.5 * 2 ** (attempt - 1))
    assert 0.0 <= b.delay(attempt, random.Random(seed)) < step


@given(attempt=st.integers(min_value=1, max_value=60), seed=st.integers(0, 2**32))
def test_spread_jitter_keeps_a_floor(attempt: int, seed: int) -> None:
    b = Backoff(base=1.0, cap=300.0, jitter="spread")
    step = min(300.0, 2.0 ** (attempt - 1))
    assert step / 2 <= b.delay(attempt, random.Random(seed)) < step * 1.5


def test_backoff_grows_until_the_cap() -> None:
    b = Backoff(base=1.0, cap=8.0, jitter="spread")

    class Mid(random.Random):
        def random(self) -> float:
            return 0.5

    assert [b.delay(n, Mid()) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_retry_after_in_seconds_milliseconds_and_http_dates() -> None:
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert retry_after({"Retry-After": "7"}) == 7.0
    assert retry_after({"retry-after-ms": "1500", "retry-after": "2"}) == 1.5  # ms wins: more precise
    assert retry_after({"Retry-After": format_datetime(now + timedelta(seconds=42), usegmt=True)}, now) == 42
    assert retry_after({"Retry-After": format_datetime(now - timedelta(seconds=5), usegmt=True)}, now) == 0
    assert retry_after({"Retry-After": "soon"}) is None
    assert retry_after({"retry-after-ms": "x", "Retry-After": "3"}) == 3.0
    assert retry_after({}) is None
    assert retry_after(None) is None


@given(st.text(max_size=40))
def test_parse_delay_never_raises_and_is_never_negative(raw: str) -> None:
    value = parse_delay(raw)
    assert value is None or value >= 0
