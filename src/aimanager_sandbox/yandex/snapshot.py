"""What a Yandex Market sandbox account holds per offer (see ``common.snapshot`` for the contract).

Offers are the union of the catalogue (offer mappings), prices and stocks, all by ``offerId``; ``title``
is the RU ``name`` as pushed (also while the card check is still running, since the mapping is stored at
once), ``title_uz`` the UZ ``name`` when one was pushed with ``language=UZ``; ``price`` is the business
price ``value`` (the selling price; ``discountBase`` is the old price); ``stock`` is the campaign's
``count`` for the offer.
"""

from __future__ import annotations

from aimanager_sandbox.common.snapshot import OfferState, as_decimal
from aimanager_sandbox.yandex.state import YmAccount


def read_offers(acc: YmAccount) -> dict[str, OfferState]:
    out: dict[str, OfferState] = {}
    for offer in sorted(set(acc.offers) | set(acc.prices) | set(acc.stocks)):
        stored = acc.offers.get(offer) or {}
        price = acc.prices.get(offer)
        stock = acc.stocks.get(offer)
        out[offer] = OfferState(
            offer_id=offer,
            title=(stored.get("ru") or {}).get("name"),
            title_uz=(stored.get("uz") or {}).get("name"),
            price=as_decimal(price.get("value")) if price else None,
            stock=int(stock["count"]) if stock and stock.get("count") is not None else None,
        )
    return out
