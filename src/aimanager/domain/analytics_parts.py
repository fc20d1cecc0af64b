"""Price position and AI spend of the partner report — pure parts of ``domain.analytics``.

* price position = our price ÷ competitor price − 1, in percent (negative = we are cheaper);
* AI spend: calls, cache hits, tokens and USD cost per (model, task kind).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from aimanager.domain.enums import Marketplace
from aimanager.domain.money import HUNDRED, ZERO


@dataclass(frozen=True)
class ListingSnapshot:
    """A listing's current and competitor price."""

    sku: str
    marketplace: Marketplace
    price: Decimal | None
    competitor_price: Decimal | None = None


@dataclass(frozen=True)
class UsageRow:
    """One ``ai_usage_logs`` row, reduced to what the report sums."""

    model: str
    task_kind: str
    cost_usd: Decimal
    input_tokens: int = 0
    output_tokens: int = 0
    cached: bool = False


class PricePosition(BaseModel):
    sku: str
    marketplace: Marketplace
    price: Decimal
    competitor_price: Decimal
    gap_pct: Decimal


class AISpend(BaseModel):
    model: str
    task_kind: str
    calls: int
    cache_hits: int
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal


def price_position(
    listings: Iterable[ListingSnapshot],
) -> tuple[list[PricePosition], dict[str, Decimal | int | None]]:
    """Gap to the competitor per listing that has both prices, and counts cheaper/equal/dearer."""
    positions = [
        PricePosition(
            sku=li.sku,
            marketplace=li.marketplace,
            price=li.price,
            competitor_price=li.competitor_price,
            gap_pct=((li.price / li.competitor_price - 1) * HUNDRED).quantize(Decimal("0.1")),
        )
        for li in listings
        if li.price is not None
        and li.price > 0
        and li.competitor_price is not None
        and li.competitor_price > 0
    ]
    positions.sort(key=lambda p: (-p.gap_pct, p.sku, p.marketplace.value))
    gaps = [p.gap_pct for p in positions]
    summary: dict[str, Decimal | int | None] = {
        "compared": len(gaps),
        "cheaper": sum(1 for g in gaps if g < 0),
        "equal": sum(1 for g in gaps if g == 0),
        "dearer": sum(1 for g in gaps if g > 0),
        "median_gap_pct": statistics.median(gaps) if gaps else None,
    }
    return positions, summary


def ai_spend(usage: Iterable[UsageRow]) -> list[AISpend]:
    """Usage rows summed per (model, task kind), most expensive first."""
    acc: dict[tuple[str, str], list[Any]] = {}
    for u in usage:
        row = acc.setdefault((u.model, u.task_kind), [0, 0, 0, 0, ZERO])
        row[0] += 1
        row[1] += int(u.cached)
        row[2] += u.input_tokens
        row[3] += u.output_tokens
        row[4] += u.cost_usd
    out = [
        AISpend(
            model=m,
            task_kind=t,
            calls=v[0],
            cache_hits=v[1],
            input_tokens=v[2],
            output_tokens=v[3],
            cost_usd=v[4],
        )
        for (m, t), v in acc.items()
    ]
    return sorted(out, key=lambda s: (-s.cost_usd, s.model, s.task_kind))
