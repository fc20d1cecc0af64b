"""Market Yandex: FBS orders of the sandbox's order desk, as rows of ``POST /v1/businesses/{id}/orders``.

The business orders route (``routes_orders``) answers the seeded history and these together. A desk
order is one item: ``PROCESSING`` while the seller assembles it, ``DELIVERY`` once shipped,
``CANCELLED`` when the buyer cancels. Shown stock is the campaign's ``count`` of the offer.
"""

from __future__ import annotations

from typing import Any

from aimanager_sandbox.common.orders import SandboxOrder
from aimanager_sandbox.yandex.state import YmAccount, delivery_of

STATUS = {
    "new": ("PROCESSING", "STARTED"),
    "confirmed": ("PROCESSING", "READY_TO_SHIP"),
    "shipped": ("DELIVERY", "DELIVERY_SERVICE_RECEIVED"),
    "cancelled": ("CANCELLED", "USER_CHANGED_MIND"),
}


class YmShelf:
    def offers(self, acc: YmAccount) -> list[str]:
        return sorted(acc.stocks)

    def shown(self, acc: YmAccount, offer_id: str) -> int:
        return int((acc.stocks.get(offer_id) or {}).get("count") or 0)

    def take(self, acc: YmAccount, offer_id: str, quantity: int) -> None:
        row = acc.stocks[offer_id]
        row["count"] = int(row.get("count") or 0) - quantity


def order_of(acc: YmAccount, o: SandboxOrder) -> dict[str, Any]:
    """The ``BusinessOrderDTO`` of a desk order (internal ``_``-fields left out by the route)."""
    status, substatus = STATUS[o.status]
    price = int((acc.prices.get(o.offer_id) or {}).get("value") or 0)
    name = ((acc.offers.get(o.offer_id) or {}).get("ru") or {}).get("name") or o.offer_id
    return {
        "orderId": o.id,
        "campaignId": acc.campaign_id,
        "programType": "FBS",
        "status": status,
        "substatus": substatus,
        "creationDate": o.created.isoformat(),
        "updateDate": o.updated.isoformat(),
        "paymentType": "PREPAID",
        "paymentMethod": "YANDEX",
        "fake": False,
        "delivery": delivery_of(o.created.date(), o.created),
        "items": [
            {
                "id": o.id,
                "offerId": o.offer_id,
                "offerName": name,
                "count": o.quantity,
                "prices": {"payment": {"value": price, "currencyId": "UZS"}},
            }
        ],
    }
