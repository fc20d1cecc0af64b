"""Integer UZS: the only money Uzum's seller API accepts.

Every Uzum price field (``fullPrice``, ``sellPrice``, ``price``, ``sellerProfit``…) is an ``int64`` count of
whole sums. Our prices are ``Decimal`` and may carry tiyin (1/100 sum) after a percentage change, so each
value crosses this module on the way out. The policy is explicit, never implicit:

* ``REJECT`` (the default) — a non-integer amount is an error before any request is sent, so a pricing
  bug cannot silently move a price;
* ``ROUND`` — round half up to the whole sum, for callers (the pricing pipeline) that have decided the
  sub-sum part is noise.
"""

from __future__ import annotations

import enum
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation


class PriceRounding(enum.StrEnum):
    """What to do with an amount that is not a whole number of sums."""

    REJECT = "reject"
    ROUND = "round"


class NonIntegerPrice(ValueError):
    """A price has a fractional sum part and the policy is ``REJECT``."""


def to_uzs(value: Decimal | int | str, *, rounding: PriceRounding = PriceRounding.REJECT) -> int:
    """Convert ``value`` to whole UZS under ``rounding``; negative and non-finite amounts are refused."""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise NonIntegerPrice(f"not a number: {value!r}") from None
    if not amount.is_finite():
        raise NonIntegerPrice(f"not a finite amount: {value!r}")
    if amount < 0:
        raise NonIntegerPrice(f"negative amount: {value!r}")
    whole = amount.to_integral_value(rounding=ROUND_HALF_UP)
    if whole != amount and rounding is PriceRounding.REJECT:
        raise NonIntegerPrice(
            f"{amount} UZS is not a whole number of sums; Uzum accepts integers only "
            "(round it upstream or pass rounding=ROUND)"
        )
    return int(whole)
