"""Seed our catalog into an Uzum sandbox account (see ``common.seeding`` for the contract).

Uzum has no card API, so the products always exist (as if created in the cabinet from our XLSX
export): productId/skuId, a barcode (ours or a deterministic EAN-13), price and FBS stock; the history
becomes finance order lines.
"""

from __future__ import annotations

from typing import Any

from aimanager.domain.categories import category_for
from aimanager.domain.enums import Marketplace
from aimanager_sandbox.common.history import HistoryRow
from aimanager_sandbox.common.seeding import SeedOffer, ean13, fees_of
from aimanager_sandbox.uzum.state import UzumShop, finance_row

UZUM_CATEGORY_DEFAULT = "Прочее"


def seed_account(
    acc: UzumShop, offers: list[SeedOffer], existing: bool, history: list[HistoryRow], ids: dict[str, int]
) -> dict[str, Any]:
    # Uzum has no card API: products always exist (created in the cabinet from our export).
    acc.shop_id = ids.get("shop_id", acc.shop_id)
    acc.products.clear()
    acc.stocks.clear()
    acc.finance = []
    index: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    by_id = {o.offer_id: o for o in offers}
    for i, o in enumerate(offers):
        ref = category_for(o.category, Marketplace.UZUM)
        commission = fees_of(o)[0]
        barcode = o.barcode or ean13(o.offer_id)
        sku: dict[str, Any] = {
            "skuId": 700_001 + i,
            "skuTitle": o.title,
            "skuFullTitle": o.title,
            "barcode": barcode,
            "article": o.offer_id,
            "sellerItemCode": o.offer_id,
            "ikpu": "1234567890123456",
            "price": int(o.price),
            "fullPrice": int(o.price),
            "commission": commission,
            "quantityActive": o.stock,
            "quantityFbs": o.stock,
        }
        product: dict[str, Any] = {
            "productId": 200_001 + i,
            "title": o.title,
            "category": ref.category_id if ref else UZUM_CATEGORY_DEFAULT,
            "status": {"value": "IN_STOCK" if o.stock else "OUT_OF_STOCK"},
            "moderationStatus": {"value": "MODERATED"},
            "commission": commission,
            "skuList": [sku],
        }
        acc.products[product["productId"]] = product
        acc.stocks[barcode] = o.stock
        index[o.offer_id] = (product, sku)
    for h in history:
        product, sku = index[h.offer_id]
        delivery = fees_of(by_id[h.offer_id])[2] * h.quantity
        acc.finance.append(finance_row(h, acc.shop_id, product, sku, delivery=delivery))
    return {"shop_id": acc.shop_id}
