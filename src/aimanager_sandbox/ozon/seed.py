"""Seed our catalog into an Ozon sandbox account (see ``common.seeding`` for the contract).

Products get the Ozon category/type of our category (``CATEGORIES``), product_id/sku, their price and
their stock at the first warehouse; commission comes from the category's FBS sale percent.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aimanager.domain.enums import Marketplace
from aimanager_sandbox.common.history import HistoryRow
from aimanager_sandbox.common.seeding import SeedOffer, category_ref, logistics_of, with_fees
from aimanager_sandbox.ozon.state import CATEGORIES, WAREHOUSES, OzonAccount


def seed_account(
    acc: OzonAccount, offers: list[SeedOffer], existing: bool, history: list[HistoryRow], ids: dict[str, Any]
) -> dict[str, Any]:
    warehouse = WAREHOUSES[0]["warehouse_id"]
    cats: dict[str, tuple[int, int]] = {}
    for o in offers:
        ref = category_ref(o, Marketplace.OZON)
        cat, type_id = int(ref.category_id), int(ref.type_id or 0)
        if cat not in CATEGORIES or type_id not in CATEGORIES[cat][0]:
            raise ValueError(f"Ozon sandbox has no category {cat}/{type_id}")
        cats[o.offer_id] = (cat, type_id)
    # Our catalogue is priced in UZS. Whether Ozon lets an Uzbek cabinet settle in UZS is unconfirmed
    # (its documented codes are RUB, BYN, KZT, EUR, USD, CNY): a seeded account plays that case unless
    # ``SandboxConfig.extra["currency"]`` says otherwise; the connector reads whichever it is.
    acc.currency = str(ids.get("currency") or "UZS")
    acc.products.clear()
    acc.stocks.clear()
    acc.stock_sent.clear()
    acc.price_events.clear()
    if existing:
        for o in offers:
            pid = acc.new_id()
            acc.products[o.offer_id] = {
                "offer_id": o.offer_id,
                "product_id": pid,
                "sku": pid + 1_000_000,
                "name": o.title,
                "description_category_id": cats[o.offer_id][0],
                "type_id": cats[o.offer_id][1],
                "price": o.price,
                "old_price": Decimal(0),
                "min_price": Decimal(0),
                "currency_code": acc.currency,
                "data": {},  # any import of this offer is an update ("imported", same product_id)
            }
            acc.stocks[(o.offer_id, warehouse)] = o.stock
    commission = {o: Decimal(CATEGORIES[c][1]) for o, (c, _) in cats.items()}
    acc.history = with_fees(history, commission, logistics_of(offers))
    # The operator states the cabinet currency when connecting the account; the connector checks it
    # against the account's prices as soon as there are any.
    return {"warehouse_id": str(warehouse), "currency_code": acc.currency}
