"""``aimanager bench day``'s reading of the sandboxes' timelines: order → other marketplaces dropping."""

from __future__ import annotations

import math

from aimanager_lab.bench.day import drop_latencies, percentile


def test_each_order_waits_for_the_first_lower_quantity_on_each_other_marketplace() -> None:
    timelines = {
        ("p1", "wildberries"): [[0.0, "A", "shown", 10], [100.0, "A", "order", 1], [100.0, "A", "shown", 9]],
        # Ozon drops 300 marketplace seconds after the order (a raise before it does not count).
        ("p1", "ozon"): [[0.0, "A", "shown", 10], [200.0, "A", "shown", 12], [400.0, "A", "shown", 8]],
        # Yandex showed nothing: nothing to drop.
        ("p1", "yandex"): [[0.0, "A", "shown", 0]],
        # Uzum never drops within the run.
        ("p1", "uzum"): [[0.0, "A", "shown", 5]],
        # Another partner's offer of the same id is another pool: not this order's.
        ("p2", "ozon"): [[0.0, "A", "shown", 10], [150.0, "A", "shown", 1]],
    }
    latencies, orders, nothing, never = drop_latencies(timelines, scale=0.01)
    assert orders == 1
    assert latencies == [3.0]  # (400 - 100) × 0.01 wall seconds
    assert (nothing, never) == (1, 1)


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 50))
