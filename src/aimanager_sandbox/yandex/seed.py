"""Seed our catalog into a Yandex Market sandbox account (see ``common.seeding`` for the contract).

Offers get finished cards (``HAS_CARD_CAN_UPDATE``) in the Market category of our category, a business
price and a campaign stock; the history becomes FBS orders whose fee and delivery feed the reports.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aimanager.domain.enums import Marketplace
from aimanager_sandbox.common.history import HistoryRow
from aimanager_sandbox.common.seeding import SeedOffer, category_ref, fees_of, stamp
from aimanager_sandbox.yandex.state import YmAccount, order_row


def seed_account(
    acc: YmAccount, offers: list[SeedOffer], existing: bool, history: list[HistoryRow], ids: dict[str, int]
) -> dict[str, Any]:
    acc.business_id = ids.get("business_id", acc.business_id)
    acc.campaign_id = ids.get("campaign_id", acc.campaign_id)
    categories = {o.offer_id: int(category_ref(o, Marketplace.YANDEX).category_id) for o in offers}
    acc.offers.clear()
    acc.prices.clear()
    acc.stocks.clear()
    if existing:
        for o in offers:
            acc.offers[o.offer_id] = {
                "ru": {
                    "offerId": o.offer_id,
                    "name": o.title,
                    "marketCategoryId": categories[o.offer_id],
                    "description": o.title,
                    "vendor": "Sandbox",
                    "pictures": [f"https://img.example/{o.offer_id}/1.jpg"],
                    **({"barcodes": [o.barcode]} if o.barcode else {}),
                },
                "uz": {},
                "created": True,
                "ready_at": 0.0,
            }
            acc.prices[o.offer_id] = {"value": int(o.price), "currencyId": "UZS", "discountBase": None}
            acc.stocks[o.offer_id] = {"count": o.stock, "updatedAt": stamp(days_ago=1)}
    by_id = {o.offer_id: o for o in offers}
    acc.orders = []
    for h in history:
        offer = by_id[h.offer_id]
        _, pct, delivery = fees_of(offer)
        fee = int(h.unit_price * h.quantity * Decimal(pct) / 100)
        acc.orders.append(order_row(h, acc.campaign_id, offer.title, fee=fee, delivery=delivery * h.quantity))
    return {"business_id": acc.business_id, "campaign_id": acc.campaign_id, "currency": "UZS"}
