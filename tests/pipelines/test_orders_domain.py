"""The pool arithmetic of order lines (``domain.orders``): status words, and moves that happen once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aimanager.domain.enums import Marketplace
from aimanager.domain.orders import OrderState, available, move, state_of

R, S, X = OrderState.RESERVED, OrderState.SHIPPED, OrderState.RELEASED
T0 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("market", "status", "state"),
    [
        (Marketplace.WILDBERRIES, "new/waiting", R),
        (Marketplace.WILDBERRIES, "complete/sorted", S),
        (Marketplace.WILDBERRIES, "confirm/canceled_by_client", X),  # either side's cancel releases
        (Marketplace.OZON, "awaiting_packaging", R),
        (Marketplace.OZON, "delivering", S),
        (Marketplace.OZON, "cancelled", X),
        (Marketplace.YANDEX, "PROCESSING", R),
        (Marketplace.YANDEX, "DELIVERED", S),
        (Marketplace.YANDEX, "CANCELLED", X),
        (Marketplace.UZUM, "CREATED", R),
        (Marketplace.UZUM, "DELIVERING", S),
        (Marketplace.UZUM, "CANCELED", X),
        (Marketplace.OZON, "a_word_nobody_documented", R),  # unknown: held, never oversold
    ],
)
def test_status_words(market: Marketplace, status: str, state: OrderState) -> None:
    assert state_of(market, status) is state


def test_a_line_takes_its_units_once() -> None:
    first = move(None, R, 2, ordered_at=T0, tracking_since=T0)
    assert (first.state, first.stock_delta, first.changed) == (R, 0, True)
    shipped = move(R, S, 2, ordered_at=T0, tracking_since=T0)
    assert (shipped.state, shipped.stock_delta) == (S, -2)
    again = move(S, S, 2, ordered_at=T0, tracking_since=T0)
    assert (again.stock_delta, again.changed) == (0, False)
    assert move(S, X, 2, ordered_at=T0, tracking_since=T0).stock_delta == 0  # final: a late return
    assert move(R, X, 2, ordered_at=T0, tracking_since=T0).state is X


def test_history_shipped_before_tracking_moves_nothing() -> None:
    old = move(None, S, 3, ordered_at=T0 - timedelta(days=1), tracking_since=T0)
    assert (old.state, old.stock_delta) == (S, 0)
    new = move(None, S, 3, ordered_at=T0 + timedelta(minutes=1), tracking_since=T0)
    assert new.stock_delta == -3


def test_available_never_negative() -> None:
    assert available(5, 2) == 3
    assert available(1, 4) == 0
