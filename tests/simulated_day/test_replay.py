"""The simulated day's oversell check can fail: it catches a marketplace showing more than the pool."""

from __future__ import annotations

from tests.timeline import violations


def test_a_marketplace_still_showing_units_an_order_elsewhere_took_is_caught() -> None:
    books = {
        ("p", "wildberries"): {
            "timeline": [[0.0, "A", "shown", 5], [10.0, "A", "order", 1], [10.0, "A", "shown", 4]]
        },
        ("p", "ozon"): {"timeline": [[0.0, "A", "shown", 5], [20.0, "A", "shown", 4]]},
    }
    found = violations(books, {"A": 5})
    # From the order (t=10) until Ozon dropped (t=20) Ozon showed 5 of a pool of 4.
    assert found == ["t=10: A shows 5 on ozon, pool 4"]


def test_shares_within_the_pool_and_the_sandboxes_own_offers_pass() -> None:
    books = {
        ("p", "wildberries"): {"timeline": [[0.0, "A", "shown", 2], [10.0, "A", "order", 1],
                                            [10.0, "A", "shown", 1], [0.0, "SEED-001", "shown", 99]]},
        ("p", "ozon"): {"timeline": [[0.0, "A", "shown", 3], [30.0, "A", "cancel", 1]]},
    }  # fmt: skip
    assert violations(books, {"A": 5}) == []
