"""Money of a catalog row against the marketplaces' currencies: a cost in another currency is
converted by the stated rate (:mod:`.rates`) or rejected; amounts finer than their currency's step
(a UZS fraction) are rejected. Never is a cost compared with prices in another currency as it is."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from aimanager.domain.enums import Marketplace
from aimanager.domain.money import currency_for, step
from aimanager.pipelines.catalog.rates import RateTable
from aimanager.pipelines.catalog.report import RowError


def cost_in_marketplace_currency(
    cost: Decimal,
    source: str,
    marketplaces: set[Marketplace],
    rates: RateTable | None,
    errors: list[RowError],
    error: Callable[[str, str], RowError],
) -> tuple[Decimal, str, str] | None:
    """The cost in the currency the row's marketplaces price in, converted by the stated rate, with
    a note of the rate used; None when it is already in that currency or is wrong (an error on
    ``cost_price`` then says why) — a cost is never compared with prices in another currency."""
    if cost != cost.quantize(step(source)):
        errors.append(error("cost_price", fraction_message(cost, source)))
        return None
    targets = sorted({currency_for(mp) for mp in (marketplaces or set(Marketplace))})
    if len(targets) > 1:
        errors.append(error("cost_price", f"the row's marketplaces price in {' and '.join(targets)}; "
                                          "one cost cannot serve both"))  # fmt: skip
        return None
    target = targets[0]
    if source == target:
        return None
    converted = rates.convert(cost, source, target) if rates is not None else None
    if converted is None or rates is None:
        where = ", ".join(sorted(mp.value for mp in marketplaces)) or "the marketplaces'"
        errors.append(
            error(
                "cost_price",
                f"the cost is in {source} but {where} prices are in {target}; write the cost in "
                f'{target} or give a rates file (--rates) with a "{source}/{target}" rate',
            )
        )
        return None
    return converted, target, f"{source}→{target} at {rates.rate(source, target)} ({rates.source})"


def fraction_message(amount: Decimal, currency: str) -> str:
    if currency == "UZS":
        return f"{amount} UZS has a fraction; UZS prices are whole sums (no marketplace takes tiyin)"
    return f"{amount} {currency} has more decimal places than {currency} has ({step(currency)})"
