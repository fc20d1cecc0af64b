"""The stated exchange-rate table a cost in another currency is converted with (``--rates FILE``).

A TOML file of FX quotes, ``"BASE/QUOTE" = rate`` meaning one BASE buys ``rate`` QUOTE::

    # rates.toml — as of 2025-05-01, central bank
    "USD/UZS" = 12650
    "RUB/UZS" = "140.50"

Only the pairs written are used: a USD cost is converted to UZS by ``USD/UZS`` and never by inverting
a ``UZS/USD`` line, so the number the operator typed is the number applied. Rates are read as Decimal
(TOML floats too, through ``parse_float``), never through a binary float.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from aimanager.domain.money import CURRENCY_PLACES, round_up
from aimanager.pipelines.catalog.report import CatalogImportError
from aimanager.pipelines.catalog.values import parse_number


@dataclass(frozen=True)
class RateTable:
    """FX quotes by (base, quote) currency and the file they came from."""

    rates: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    source: str = "rates"

    def rate(self, base: str, quote: str) -> Decimal | None:
        """Units of ``quote`` one ``base`` buys, or None when the table does not state it."""
        return self.rates.get((base.upper(), quote.upper()))

    def convert(self, amount: Decimal, base: str, quote: str) -> Decimal | None:
        """``amount`` of ``base`` in ``quote``, rounded UP to ``quote``'s step, or None without a rate.

        Up, because the cost is the base of every price floor: a cost rounded down could let a price
        fall below what the product cost.
        """
        rate = self.rate(base, quote)
        return None if rate is None else round_up(amount * rate, quote)


def load_rates(path: str | Path) -> RateTable:
    """Read a rates TOML file; any problem is a :class:`CatalogImportError` naming the file and line."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"), parse_float=Decimal)
    except FileNotFoundError:
        raise CatalogImportError(f"{path.name}: no such rates file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogImportError(f"{path.name}: cannot read the rates file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogImportError(f"{path.name}: not a TOML rates file ({exc})") from None
    rates: dict[tuple[str, str], Decimal] = {}
    for key, value in raw.items():
        base, slash, quote = str(key).upper().partition("/")
        if not slash or base not in CURRENCY_PLACES or quote not in CURRENCY_PLACES or base == quote:
            raise CatalogImportError(
                f'{path.name}: {key!r} is not a currency pair like "USD/UZS" '
                f"(currencies: {', '.join(CURRENCY_PLACES)})"
            )
        if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
            raise CatalogImportError(f"{path.name}: {key}: the rate must be a number")
        try:
            rate = value if isinstance(value, Decimal) else parse_number(str(value))
        except ValueError as exc:
            raise CatalogImportError(f"{path.name}: {key}: {exc}") from None
        if not rate.is_finite() or rate <= 0:
            raise CatalogImportError(f"{path.name}: {key}: the rate must be above zero")
        rates[(base, quote)] = Decimal(rate)
    if not rates:
        raise CatalogImportError(f'{path.name}: no rates in the file (write lines like "USD/UZS" = 12650)')
    return RateTable(rates, path.name)
