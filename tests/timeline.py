"""The oversell check both order tests replay: the sandboxes' timelines against the partner's pools."""

from __future__ import annotations

from collections import defaultdict
from typing import Any


def violations(books: dict[tuple[str, str], dict[str, Any]], pools: dict[str, int]) -> list[str]:
    """Replay every account's timeline in time order (the sandboxes' order desks keep them): a
    SKU's pool is its stock less the units of orders placed and not cancelled; after each instant no
    marketplace may show more than the pool. Offers not in ``pools`` (the sandboxes' own synthetic
    products) are not the partner's and are left out."""
    events = sorted(
        (t, kind != "shown", market, offer, kind, qty)
        for (_, market), book in books.items()
        for t, offer, kind, qty in book["timeline"]
        if offer in pools
    )
    pool = dict(pools)
    shown: dict[tuple[str, str], int] = defaultdict(int)
    found: list[str] = []
    i = 0
    while i < len(events):
        t = events[i][0]
        while i < len(events) and events[i][0] == t:
            _, _, market, offer, kind, qty = events[i]
            if kind == "order":
                pool[offer] -= qty
            elif kind == "cancel":
                pool[offer] += qty
            elif kind == "shown":
                shown[(market, offer)] = qty
            i += 1
        for (market, offer), qty in shown.items():
            if qty > max(pool[offer], 0) or pool[offer] < 0:
                found.append(f"t={t:.0f}: {offer} shows {qty} on {market}, pool {pool[offer]}")
    return found
