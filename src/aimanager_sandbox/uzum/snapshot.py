"""What an Uzum sandbox account holds per offer (see ``common.snapshot`` for the contract).

Offers are the shop's SKUs by ``sellerItemCode``; ``title`` is the product's ``title`` (the card; a
SKU's ``skuTitle`` adds its size); ``title_uz`` ``None`` — the Uzum sandbox keeps no Uzbek title (cards
are created in the cabinet from our XLSX export, which the sandbox never sees); ``price`` is the SKU's
``price`` (= ``sellPrice``, the selling price; ``fullPrice`` is the struck-through one); ``stock`` is
the FBS amount stored by barcode, ``None`` if never set.
"""

from __future__ import annotations

from aimanager_sandbox.common.snapshot import OfferState, as_decimal
from aimanager_sandbox.uzum.state import UzumShop


def read_offers(acc: UzumShop) -> dict[str, OfferState]:
    out: dict[str, OfferState] = {}
    for product in acc.products.values():
        for sku in product["skuList"]:
            code = sku.get("sellerItemCode")
            if not code:
                continue
            stock = acc.stocks.get(sku.get("barcode"))
            out[code] = OfferState(
                offer_id=code,
                title=product.get("title"),
                title_uz=None,
                price=as_decimal(sku.get("price")),
                stock=int(stock) if stock is not None else None,
            )
    return out
