"""How soon a card job waiting on a provider batch looks again: a tenth of its wait so far, 5-60 s."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from aimanager.pipelines.capabilities.cards import (
    BATCH_LOOK_MIN_S,
    BATCH_LOOK_S,
    batch_look_in,
)


def test_a_short_wait_looks_soon_and_a_long_one_once_a_minute() -> None:
    assert batch_look_in(1000.0, 1000.0) == BATCH_LOOK_MIN_S  # just went pending
    assert batch_look_in(1000.0, 1100.0) == 10.0  # a hundred seconds in: ten more
    assert batch_look_in(0.0, 7200.0) == BATCH_LOOK_S  # two hours in: once a minute


@given(st.floats(0, 1e6), st.floats(0, 1e6))
def test_the_look_grows_with_the_wait_and_stays_within_bounds(since: float, waited: float) -> None:
    now = since + waited
    look = batch_look_in(since, now)
    assert BATCH_LOOK_MIN_S <= look <= BATCH_LOOK_S
    assert batch_look_in(since, now + 10.0) >= look
