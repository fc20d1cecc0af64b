"""Decimal money helpers: parsing without floats and rounding to each currency's smallest step.

Marketplaces take prices in whole units of their settlement currency: Uzum sends integer UZS
(marketplace-apis.md §1, "Currency"), Yandex Market Go takes UZS, Russian cabinets take kopecks (2 places).
A price that is rounded the wrong way can cross a floor, so the helpers say which way they round.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation

from aimanager.domain.enums import Marketplace

# Decimal places per ISO 4217 code as the marketplaces use them. UZS has tiyin on paper (2 places)
# but no marketplace price field accepts them, so it is treated as an integer currency.
CURRENCY_PLACES: dict[str, int] = {
    "UZS": 0,
    "RUB": 2,
    "KZT": 2,
    "BYN": 2,
    "USD": 2,
    "EUR": 2,
    "CNY": 2,
}

# Settlement currency per marketplace for an Uzbek seller (marketplace-apis.md §0.1, §6). WB and Ozon
# cabinets of Uzbek sellers are not confirmed to settle in UZS (gaps G-4, G-5); the catalog keeps cost
# in UZS, so UZS is the default everywhere and a partner can override per listing.
MARKETPLACE_CURRENCY: dict[Marketplace, str] = {
    Marketplace.UZUM: "UZS",
    Marketplace.YANDEX: "UZS",
    Marketplace.WILDBERRIES: "UZS",
    Marketplace.OZON: "UZS",
}

ZERO = Decimal(0)
HUNDRED = Decimal(100)


class MoneyError(ValueError):
    """A value could not be read as money (a float, garbage text, NaN or infinity)."""


def to_decimal(value: Decimal | int | str) -> Decimal:
    """Read ``value`` as a finite Decimal; floats are refused because they already lost precision.

    Strings may use a comma as the decimal separator and spaces (also no-break) as thousands
    separators, as Russian spreadsheets do: ``"12 500,50"`` → ``Decimal("12500.50")``.
    """
    if isinstance(value, (bool, float)):
        raise MoneyError(f"money must be Decimal, int or str, not {type(value).__name__}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
        text = text.replace(",", ".")
        if not text:
            raise MoneyError("empty money value")
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise MoneyError(f"not a number: {value[:40]!r}") from None
    else:
        raise MoneyError(f"money must be Decimal, int or str, not {type(value).__name__}")
    if not result.is_finite():
        raise MoneyError(f"money must be finite, got {value!r}")
    return result


def places(currency: str) -> int:
    """Decimal places of ``currency``; unknown codes get 2 (the common case)."""
    return CURRENCY_PLACES.get(currency.upper(), 2)


def step(currency: str) -> Decimal:
    """The smallest price increment of ``currency`` (``1`` for UZS, ``0.01`` for RUB)."""
    return Decimal(1).scaleb(-places(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's step (for display and for amounts with no safety side)."""
    return amount.quantize(step(currency), rounding=ROUND_HALF_UP)


def round_up(amount: Decimal, currency: str) -> Decimal:
    """Round towards +infinity: used for floors, so rounding never makes a floor lose money."""
    return amount.quantize(step(currency), rounding=ROUND_CEILING)


def round_down(amount: Decimal, currency: str) -> Decimal:
    """Round towards -infinity: used for ceilings, so rounding never lifts a price above one."""
    return amount.quantize(step(currency), rounding=ROUND_FLOOR)


def pct(value: Decimal | int | str) -> Decimal:
    """A percentage as a fraction: ``pct(15)`` → ``Decimal("0.15")``."""
    return to_decimal(value) / HUNDRED


def currency_for(marketplace: Marketplace) -> str:
    """Default settlement currency of ``marketplace`` for an Uzbek seller."""
    return MARKETPLACE_CURRENCY[marketplace]
