"""Cost of a call as ``Decimal`` from the pinned price table ``prices.json`` (never fetched at run time).

Why a vendored file rather than ``genai-prices`` at run time: ``genai_prices.calc_price`` selects prices
by the request timestamp and its bundled data moves with every package upgrade, so the same usage would
be priced differently after ``uv lock --upgrade``; the ledger must be reproducible. The test suite
cross-checks this file against ``genai-prices`` for the models both know.

Token classes follow Anthropic's usage block: ``input_tokens`` are *uncached* input, cache reads and
writes are separate counts (the OpenAI provider converts its ``prompt_tokens`` to this shape).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

from aimanager.llm.errors import RoutingError
from aimanager.llm.types import Usage

PER_TOKEN = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class Rates:
    """USD per million tokens for one price band of one model."""

    input: Decimal
    output: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    cache_read: Decimal

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Rates:
        return cls(
            input=Decimal(raw["input"]),
            output=Decimal(raw["output"]),
            cache_write_5m=Decimal(raw["cache_write_5m"]),
            cache_write_1h=Decimal(raw["cache_write_1h"]),
            cache_read=Decimal(raw["cache_read"]),
        )


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """Prices of one model: the base band, an optional long-context band and the batch discount."""

    model: str
    provider: str
    base: Rates
    batch_discount: Decimal
    long_context_above: int | None = None
    long_context: Rates | None = None

    def rates_for(self, usage: Usage) -> Rates:
        """The band a call falls in: long-context prices apply to the whole call above the threshold."""
        prompt = usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens
        above = self.long_context_above
        if self.long_context is not None and above is not None and prompt > above:
            return self.long_context
        return self.base

    def cost(self, usage: Usage, *, batch: bool = False, band_of: Usage | None = None) -> Decimal:
        """Exact cost in USD of ``usage`` (Decimal; linear in every token count within a band).

        ``band_of`` is the whole call's usage when ``usage`` is one partner's share of a packed call: the
        band is chosen by the call, so the shares' costs add up exactly to the call's cost.
        """
        rates = self.rates_for(band_of or usage)
        total = (
            usage.input_tokens * rates.input
            + usage.output_tokens * rates.output
            + usage.cache_write_tokens * rates.cache_write_5m
            + usage.cache_read_tokens * rates.cache_read
        ) / PER_TOKEN
        return total * self.batch_discount if batch else total


class PriceTable:
    """The pinned price table; ``version`` goes into every ledger row's ``detail``."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.version: str = raw["version"]
        self.models: dict[str, ModelPrice] = {}
        for name, entry in raw["models"].items():
            long = entry.get("long_context")
            self.models[name] = ModelPrice(
                model=name,
                provider=entry["provider"],
                base=Rates.parse(entry),
                batch_discount=Decimal(entry["batch_discount"]),
                long_context_above=long["above_input_tokens"] if long else None,
                long_context=Rates.parse(long) if long else None,
            )

    def price(self, model: str) -> ModelPrice:
        """Prices of ``model``; an unknown model is a configuration error, never silently free."""
        try:
            return self.models[model]
        except KeyError:
            raise RoutingError(
                f"model {model!r} has no entry in the price table (prices.json {self.version}); "
                "add it before routing work to it"
            ) from None

    def cost(self, model: str, usage: Usage, *, batch: bool = False) -> Decimal:
        """Cost in USD of one call of ``model`` with ``usage``."""
        return self.price(model).cost(usage, batch=batch)


@lru_cache(maxsize=1)
def default_prices() -> PriceTable:
    """The price table shipped with the package."""
    text = resources.files("aimanager.llm").joinpath("prices.json").read_text(encoding="utf-8")
    return PriceTable(json.loads(text))
