"""YM order stats (``POST /v2/campaigns/{campaignId}/stats/orders``): the seeded history's orders with
the commissions charged on them, ≤200 per page, a creation-date window and a status filter.

Each history order keeps its fee and delivery charge (``_fee``, ``_delivery``, also behind the united-*
reports); here they are the ``commissions[]`` the spec describes: FEE and DELIVERY_TO_CUSTOMER on a
delivered order, only the delivery on a returned one (the Market refunds its fee on a return).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from aimanager_sandbox.yandex.state import account_and_body, ok, paging, read_page_token, ym_error

router = APIRouter()
PAGE_MAX = 200
STATUSES = {
    "CANCELLED_BEFORE_PROCESSING", "CANCELLED_IN_DELIVERY", "CANCELLED_IN_PROCESSING", "DELIVERY",
    "DELIVERED", "PARTIALLY_DELIVERED", "PARTIALLY_RETURNED", "PENDING", "PICKUP", "PROCESSING",
    "RESERVED", "RETURNED", "UNKNOWN", "UNPAID", "LOST",
}  # fmt: skip


def stats_order(order: dict[str, Any]) -> dict[str, Any]:
    """A history order as ``OrdersStatsOrderDTO``."""
    returned = order["status"] == "RETURNED"
    commissions = [{"type": "DELIVERY_TO_CUSTOMER", "actual": order.get("_delivery", 0)}]
    if not returned:
        commissions.insert(0, {"type": "FEE", "actual": order.get("_fee", 0)})
    items = []
    for item in order["items"]:
        unit = item["prices"]["payment"]["value"]
        items.append(
            {
                "offerName": item["offerName"],
                "marketSku": 100_000_000 + item["id"],
                "shopSku": item["offerId"],
                "count": item["count"],
                "prices": [{"type": "BUYER", "costPerItem": unit, "total": unit * item["count"]}],
                "warehouse": {"id": 1, "name": "Ташкент FBS"},
            }
        )
    return {
        "id": order["orderId"],
        "creationDate": str(order["creationDate"])[:10],
        "statusUpdateDate": order["creationDate"],
        "status": order["status"],
        "paymentType": "PREPAID",
        "fake": False,
        "items": items,
        "payments": [],
        "commissions": commissions,
        "currency": "UZS",
    }


@router.post("/v2/campaigns/{campaign_id}/stats/orders")
async def orders_stats(
    request: Request, campaign_id: int, limit: int = 100, pageToken: str | None = None
) -> Response:
    opened = await account_and_body(request, campaign=campaign_id)
    if isinstance(opened, Response):
        return opened
    acc, body = opened
    body = body or {}
    if not 1 <= limit <= PAGE_MAX:
        return ym_error(400, "BAD_REQUEST", f"limit must be 1–{PAGE_MAX}")
    try:
        start = date.fromisoformat(body["dateFrom"]) if body.get("dateFrom") else date.min
        end = date.fromisoformat(body["dateTo"]) if body.get("dateTo") else date.max
    except (TypeError, ValueError):
        return ym_error(400, "BAD_REQUEST", "dateFrom and dateTo are dates (YYYY-MM-DD)")
    statuses = body.get("statuses")
    if statuses is not None and (not statuses or not set(statuses) <= STATUSES):
        return ym_error(400, "BAD_REQUEST", "statuses: one or more OrderStatsStatusType values")
    rows = [
        o
        for o in acc.orders  # the history; live FBS orders are not delivered yet
        if start <= date.fromisoformat(str(o["creationDate"])[:10]) <= end
        and (not statuses or o["status"] in statuses)
    ]
    offset = read_page_token(pageToken)
    if offset < 0:
        return ym_error(400, "BAD_REQUEST", "Invalid page token")
    page = [stats_order(o) for o in rows[offset : offset + limit]]
    return JSONResponse(ok({"orders": page, "paging": paging(offset, limit, len(rows))}))
