"""Seed our catalog into a Wildberries sandbox account (see ``common.seeding`` for the contract).

Cards get the WB subject of our category (``SUBJECTS``) with nmID/chrtID, their price with discount 0
and their stock at the first seller warehouse; commission comes from the subject's UZ tariff.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aimanager.domain.enums import Marketplace
from aimanager_sandbox.common.history import HistoryRow
from aimanager_sandbox.common.seeding import SeedOffer, category_ref, logistics_of, stamp, with_fees
from aimanager_sandbox.wildberries.state import SUBJECTS, WAREHOUSES, WbAccount, new_card


def seed_account(
    acc: WbAccount, offers: list[SeedOffer], existing: bool, history: list[HistoryRow], ids: dict[str, int]
) -> dict[str, Any]:
    warehouse = WAREHOUSES[0]["id"]
    subjects = {o.offer_id: int(category_ref(o, Marketplace.WILDBERRIES).category_id) for o in offers}
    unknown = sorted({s for s in subjects.values() if s not in SUBJECTS})
    if unknown:
        raise ValueError(f"WB sandbox has no subject(s) {unknown}")
    acc.cards.clear()
    acc.prices.clear()
    acc.stocks.clear()
    if existing:
        for o in offers:
            sizes = [{"techSize": "0", "skus": [o.barcode] if o.barcode else []}]
            card = new_card(
                acc, subjects[o.offer_id], {"vendorCode": o.offer_id, "title": o.title[:60], "sizes": sizes}
            )
            card["createdAt"] = card["updatedAt"] = stamp(days_ago=30)
            acc.cards[o.offer_id] = card
            acc.prices[card["nmID"]] = (int(o.price), 0)
            acc.stocks[(warehouse, card["sizes"][0]["chrtID"])] = o.stock
    commission = {o: Decimal(SUBJECTS[s][1]) for o, s in subjects.items()}
    acc.history = with_fees(history, commission, logistics_of(offers))
    return {"warehouse_id": str(warehouse)}
