"""The seeded order/sales history every marketplace sandbox opens an account with (and seeding replaces)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from aimanager_sandbox.common.sandbox import SandboxConfig

DEFAULT_COMMISSION_PCT = Decimal("15")
DEFAULT_LOGISTICS = Decimal("60")


@dataclass(frozen=True)
class HistoryRow:
    """One seeded sale: a unit price, quantity and the marketplace's cut."""

    day: date
    seq: int
    offer_id: str
    quantity: int
    unit_price: Decimal
    commission_pct: Decimal
    logistics: Decimal
    returned: bool


def seeded_history(
    rng: random.Random,
    offers: list[tuple[str, Decimal]],
    *,
    end: date,
    days: int,
    per_day: int,
    commission_pct: Decimal = DEFAULT_COMMISSION_PCT,
    logistics: Decimal = DEFAULT_LOGISTICS,
) -> list[HistoryRow]:
    """Deterministic order/sales history for ``offers`` (offer id, list price) over ``days`` days."""
    rows: list[HistoryRow] = []
    seq = 0
    for d in range(days):
        day = end - timedelta(days=days - 1 - d)
        for _ in range(rng.randint(max(0, per_day - 2), per_day + 2)):
            offer_id, price = offers[rng.randrange(len(offers))]
            seq += 1
            rows.append(
                HistoryRow(
                    day=day,
                    seq=seq,
                    offer_id=offer_id,
                    quantity=rng.randint(1, 3),
                    unit_price=(price * Decimal(rng.randint(85, 100)) / 100).quantize(Decimal("1")),
                    commission_pct=commission_pct,
                    logistics=logistics,
                    returned=rng.random() < 0.05,
                )
            )
    return rows


def opening_history(
    config: SandboxConfig,
    rng: random.Random,
    offers: list[tuple[str, Decimal]],
    *,
    commission_pct: Decimal = DEFAULT_COMMISSION_PCT,
    logistics: Decimal = DEFAULT_LOGISTICS,
) -> list[HistoryRow]:
    """The history a new account opens with: ``seeded_history`` over the window ``config`` sets."""
    return seeded_history(
        rng,
        offers,
        end=config.history_end,
        days=config.history_days,
        per_day=config.history_orders_per_day,
        commission_pct=commission_pct,
        logistics=logistics,
    )
