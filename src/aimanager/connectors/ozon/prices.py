"""Reading back the prices an Ozon account holds (``POST /v5/product/info/prices``).

The v5 price read (cursor pages of ≤1,000, filtered by ``offer_id``) gives each product's
``price.price`` — the selling price after the seller's discounts, as a number (v4 sent strings) —
which is what ``/v1/product/import/prices`` sets from ``PriceUpdate.price``. Offers Ozon has no product
for are left out of the answer: "no price there".
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from aimanager.connectors.base import batches
from aimanager.connectors.ozon import limits as L

if TYPE_CHECKING:
    from aimanager.connectors.ozon.connector import OzonConnector


async def read_prices(conn: OzonConnector, offer_ids: Sequence[str]) -> dict[str, Decimal]:
    """The selling price Ozon shows per ``offer_id``, for the offers it has a priced product for."""
    out: dict[str, Decimal] = {}
    for batch in batches(list(offer_ids), L.READ_PAGE):
        for item in await conn._cursor_read("/v5/product/info/prices", batch):
            price = (item.get("price") or {}).get("price")
            if price is not None and item.get("offer_id"):
                out[str(item["offer_id"])] = Decimal(str(price))
    return out
