"""What a Ozon sandbox account holds per offer (see ``common.snapshot`` for the contract).

Offers are the account's products (``offer_id``) plus any offer with a stock row; ``title`` is the
product ``name``; ``title_uz`` ``None``; ``price`` is the product's ``price`` (the selling price;
``old_price`` is the struck-through one and not reported); ``stock`` is the sum of ``present`` over
warehouses, ``None`` without a stock row.
"""

from __future__ import annotations

from aimanager_sandbox.common.snapshot import OfferState, as_decimal
from aimanager_sandbox.ozon.state import OzonAccount


def read_offers(acc: OzonAccount) -> dict[str, OfferState]:
    stocks: dict[str, int] = {}
    for (offer, _), present in acc.stocks.items():
        stocks[offer] = stocks.get(offer, 0) + int(present)
    out: dict[str, OfferState] = {}
    for offer in sorted(set(acc.products) | set(stocks)):
        product = acc.products.get(offer)
        out[offer] = OfferState(
            offer_id=offer,
            title=product["name"] if product else None,
            title_uz=None,
            price=as_decimal(product["price"]) if product else None,
            stock=stocks.get(offer),
        )
    return out
