"""Stock allocation maths as pure functions: worked examples and property tests."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aimanager.domain.allocation import (
    AllocationPolicy,
    Channel,
    StockPool,
    allocate,
    buffer_for,
    oversell_report,
    water_fill,
)
from aimanager.domain.enums import Marketplace as M

D = Decimal


def test_buffer_from_velocity_and_delay() -> None:
    # 96/day over 15 min = 1 unit expected × k 1.5 = 1.5 → 2
    assert buffer_for(Channel(M.WILDBERRIES, D(96), D(15)), AllocationPolicy()) == 2
    # slow mover: 0.3/day × 15 min is far below 0.1 expected unit → no buffer
    assert buffer_for(Channel(M.OZON, D("0.3"), D(15)), AllocationPolicy()) == 0
    assert buffer_for(Channel(M.OZON, D("0.3"), D(15)), AllocationPolicy(safety_units=1)) == 1


def test_split_by_velocity_with_buffers() -> None:
    pool = StockPool("A-1", on_hand=100, reserved=5, non_sellable=1)
    chans = [
        Channel(M.UZUM, D(96), D(15)),  # buffer 2
        Channel(M.WILDBERRIES, D(48), D(15)),  # 0.5 × 1.5 = 0.75 → 1
        Channel(M.OZON, D(10), D(15)),  # 0.1 × 1.5 = 0.16 → 1
        Channel(M.YANDEX, D(0), D(15), enabled=False),
    ]
    a = allocate(pool, chans)
    assert a.available == 94
    assert a.buffers == {M.UZUM: 2, M.WILDBERRIES: 1, M.OZON: 1, M.YANDEX: 0}
    assert a.total_published == 90 and a.held_back == 4
    assert a.published[M.YANDEX] == 0
    assert a.published[M.UZUM] > a.published[M.WILDBERRIES] > a.published[M.OZON] > 0
    assert "buffer 2" in a.reasons[M.UZUM] and a.reasons[M.YANDEX] == "listing disabled"


def test_caps_water_fill_to_other_channels() -> None:
    pool = StockPool("A-2", on_hand=50)
    chans = [Channel(M.UZUM, D(10), D(0), max_quantity=5), Channel(M.OZON, D(1), D(0))]
    a = allocate(pool, chans)
    assert a.published == {M.UZUM: 5, M.OZON: 45}
    assert "capped at 5" in a.reasons[M.UZUM]


def test_zero_at_threshold() -> None:
    a = allocate(StockPool("A-3", on_hand=2), [Channel(M.UZUM, D(1))], AllocationPolicy(zero_at=2))
    assert a.total_published == 0 and "threshold" in a.reasons[M.UZUM]


def test_duplicate_marketplace_rejected() -> None:
    with pytest.raises(ValueError, match="twice"):
        allocate(StockPool("x", 5), [Channel(M.UZUM), Channel(M.UZUM)])


def test_oversell_risk_report() -> None:
    # 1440/day = 1 per minute; buffer 5 min × 1.5 = 8, so 2 units are left for WB: 2 min < 5 min delay
    pool = StockPool("A-4", on_hand=10)
    chans = [Channel(M.WILDBERRIES, D(1440), D(5), max_quantity=3), Channel(M.OZON, D(0), D(15))]
    a = allocate(pool, chans)
    risks = oversell_report([a])
    assert [r.marketplace for r in risks] == [M.WILDBERRIES]
    assert risks[0].published == 2 and risks[0].cover_minutes == 2
    assert "sync delay" in risks[0].reason


def test_water_fill_sum_and_determinism() -> None:
    w = {M.UZUM: D(1), M.OZON: D(1), M.YANDEX: D(1)}
    r = water_fill(10, w, {M.UZUM: None, M.OZON: None, M.YANDEX: None})
    assert sum(r.values()) == 10 and sorted(r.values()) == [3, 3, 4]
    assert r == water_fill(10, w, {M.UZUM: None, M.OZON: None, M.YANDEX: None})


channel_st = st.builds(
    Channel,
    marketplace=st.sampled_from(list(M)),
    velocity_per_day=st.integers(0, 2000).map(D),
    sync_delay_minutes=st.integers(0, 120).map(D),
    max_quantity=st.none() | st.integers(0, 500),
    share=st.none() | st.integers(0, 10).map(D),
    enabled=st.booleans(),
)
channels_st = st.lists(channel_st, max_size=4, unique_by=lambda c: c.marketplace)
pool_st = st.builds(
    StockPool,
    sku=st.just("P"),
    on_hand=st.integers(0, 100_000),
    reserved=st.integers(0, 50),
    non_sellable=st.integers(0, 10),
)
policy_st = st.builds(
    AllocationPolicy,
    safety_units=st.integers(0, 3),
    zero_at=st.integers(0, 5),
    safety_factor=st.sampled_from([D(1), D("1.5"), D(2)]),
)


@settings(max_examples=500, deadline=None)
@given(pool_st, channels_st, policy_st)
def test_property_allocation_never_exceeds_pool(
    pool: StockPool, chans: list[Channel], policy: AllocationPolicy
) -> None:
    a = allocate(pool, chans, policy)
    assert a.total_published <= a.available <= pool.on_hand
    assert a.total_published + a.held_back == a.available
    for ch in chans:
        q = a.published[ch.marketplace]
        assert q >= 0
        if ch.max_quantity is not None:
            assert q <= ch.max_quantity
        if not ch.enabled:
            assert q == 0
    assert a == allocate(pool, chans, policy)


@settings(max_examples=300, deadline=None)
@given(pool_st, channels_st)
def test_property_buffers_are_held_back(pool: StockPool, chans: list[Channel]) -> None:
    a = allocate(pool, chans)
    held = sum(a.buffers[c.marketplace] for c in chans if c.enabled)
    assert a.total_published <= max(0, a.available - held)
