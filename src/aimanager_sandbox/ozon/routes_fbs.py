"""Ozon FBS postings over the sandbox's order desk: ``POST /v4/posting/fbs/list``.

Body ``{"filter": {"since", "to", "statuses"?}, "limit" (1..1000), "cursor"?}``; the window (posting
creation, RFC 3339) is required and at most a year, as Ozon documents. A posting is one order line;
its ``status`` follows the desk: ``awaiting_packaging`` → ``delivering`` or ``cancelled``. Shown
stock is ``present`` summed over the seller's warehouses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from aimanager_sandbox.common.orders import OrderDesk, SandboxOrder
from aimanager_sandbox.ozon.state import OzonAccount, make_cursor, read_cursor, request_account, rpc_error

router = APIRouter()
STATUS = {
    "new": "awaiting_packaging",
    "confirmed": "awaiting_deliver",
    "shipped": "delivering",
    "cancelled": "cancelled",
}


class OzonShelf:
    def offers(self, acc: OzonAccount) -> list[str]:
        return sorted(set(acc.products) | {offer for offer, _ in acc.stocks})

    def shown(self, acc: OzonAccount, offer_id: str) -> int:
        return sum(v for (o, _), v in acc.stocks.items() if o == offer_id)

    def take(self, acc: OzonAccount, offer_id: str, quantity: int) -> None:
        for key in sorted(k for k in acc.stocks if k[0] == offer_id):
            got = min(quantity, acc.stocks[key])
            acc.stocks[key] -= got
            quantity -= got
            if quantity == 0:
                return


def posting_of(acc: OzonAccount, o: SandboxOrder) -> dict[str, Any]:
    product = acc.products.get(o.offer_id) or {}
    number = f"{o.id}-0001-1"
    return {
        "posting_number": number,
        "order_id": o.id,
        "order_number": f"{o.id}-0001",
        "status": STATUS[o.status],
        "substatus": "",
        "in_process_at": o.created.isoformat().replace("+00:00", "Z"),
        "shipment_date": o.created.isoformat().replace("+00:00", "Z"),
        "delivery_method": {"id": 1, "name": "Ozon Логистика", "warehouse": "Ташкент", "warehouse_id": 22001},
        "products": [
            {
                "offer_id": o.offer_id,
                "name": str(product.get("name") or o.offer_id),
                "sku": int(product.get("sku") or product.get("product_id") or 0),
                "quantity": o.quantity,
                "price": {"amount": str(product.get("price") or "0"), "currency": acc.currency},
            }
        ],
    }


def _when(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


@router.post("/v4/posting/fbs/list")
async def postings(request: Request) -> Response:
    acc = request_account(request)
    body = await request.json()
    filt = body.get("filter") or {}
    since, to = _when(filt.get("since")), _when(filt.get("to"))
    limit = body.get("limit") or 0
    if since is None or to is None or to < since or (to - since).days > 366:
        return rpc_error(400, 3, "filter.since and filter.to are required, at most a year apart")
    if not isinstance(limit, int) or not 1 <= limit <= 1000:
        return rpc_error(400, 3, "limit: 1–1000")
    wanted = set(filt.get("statuses") or [])
    desk: OrderDesk = request.app.state.orders
    rows = [
        o
        for o in desk.orders_of(request.headers["client-id"])
        if since <= o.created <= to and (not wanted or STATUS[o.status] in wanted)
    ]
    start = read_cursor(body.get("cursor") or "")
    page = rows[start : start + limit]
    more = start + limit < len(rows)
    return JSONResponse(
        {
            "postings": [posting_of(acc, o) for o in page],
            "has_next": more,
            "cursor": make_cursor(start + limit) if more else "",
        }
    )
