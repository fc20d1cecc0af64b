"""Wildberries Marketplace API: FBS assembly tasks (orders) over the sandbox's order desk.

* ``GET /api/v3/orders/new`` — the tasks waiting for the seller (``supplierStatus`` new);
* ``GET /api/v3/orders?limit=1..1000&next=0&dateFrom=&dateTo=`` — every task created in the window
  (Unix seconds, at most 30 days), ``next`` paging;
* ``POST /api/v3/orders/status`` ``{"orders": [id ≤1000]}`` — ``supplierStatus``/``wbStatus`` per task.

One task is one unit of one size (``chrtId``), as on WB. Shown stock is the FBS amount summed over
the seller's warehouses; an order takes its unit from the first warehouse that has one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from aimanager_sandbox.common.orders import OrderDesk, SandboxOrder
from aimanager_sandbox.wildberries.state import WbAccount, marketplace_error, request_account

router = APIRouter()
STATUS = {  # sandbox status → (supplierStatus, wbStatus)
    "new": ("new", "waiting"),
    "confirmed": ("confirm", "waiting"),
    "shipped": ("complete", "sorted"),
    "cancelled": ("cancel", "canceled_by_client"),
}
UZS = 860  # ISO 4217 numeric


class WbShelf:
    def offers(self, acc: WbAccount) -> list[str]:
        return list(acc.cards)

    def _chrt(self, acc: WbAccount, offer_id: str) -> int | None:
        card = acc.cards.get(offer_id)
        return card["sizes"][0]["chrtID"] if card else None

    def shown(self, acc: WbAccount, offer_id: str) -> int:
        chrt = self._chrt(acc, offer_id)
        return sum(v for (_, c), v in acc.stocks.items() if c == chrt)

    def take(self, acc: WbAccount, offer_id: str, quantity: int) -> None:
        chrt = self._chrt(acc, offer_id)
        for key in sorted(k for k in acc.stocks if k[1] == chrt):
            got = min(quantity, acc.stocks[key])
            acc.stocks[key] -= got
            quantity -= got
            if quantity == 0:
                return


def _task(acc: WbAccount, o: SandboxOrder, *, new: bool) -> dict[str, Any]:
    card = acc.cards.get(o.offer_id) or {"nmID": 0, "sizes": [{"chrtID": 0, "skus": []}]}
    nm_id, size = card["nmID"], card["sizes"][0]
    price = acc.prices.get(nm_id, (0, 0))[0] * 100  # kopecks/tiyin, as WB answers
    row: dict[str, Any] = {
        "id": o.id,
        "rid": f"rid-{o.id}",
        "orderUid": f"uid-{o.id}",
        "createdAt": o.created.isoformat().replace("+00:00", "Z"),
        "article": o.offer_id,
        "colorCode": "",
        "nmId": nm_id,
        "chrtId": size["chrtID"],
        "skus": list(size.get("skus") or []),
        "warehouseId": 1001,
        "officeId": 1,
        "offices": ["Ташкент"],
        "price": price,
        "convertedPrice": price,
        "currencyCode": UZS,
        "convertedCurrencyCode": UZS,
        "cargoType": 1,
        "crossBorderType": 0,
        "deliveryType": "fbs",
        "comment": "",
        "isZeroOrder": False,
        "options": {"isB2B": False},
    }
    if new:
        row.update(salePrice=price, finalPrice=price, convertedFinalPrice=price)
        row.update(requiredMeta=[], optionalMeta=[])
    return row


def _desk(request: Request) -> OrderDesk:
    desk: OrderDesk = request.app.state.orders
    return desk


@router.get("/api/v3/orders/new")
async def new_orders(request: Request) -> dict[str, Any]:
    acc = request_account(request)
    token = request.headers["authorization"]
    rows = [_task(acc, o, new=True) for o in _desk(request).orders_of(token) if o.status == "new"]
    return {"orders": rows}


@router.get("/api/v3/orders")
async def orders(
    request: Request, limit: int, next: int, dateFrom: int | None = None, dateTo: int | None = None
) -> Response:
    acc = request_account(request)
    if not 1 <= limit <= 1000:
        return marketplace_error(400, "IncorrectParameter", "limit: 1–1000")
    start = dateFrom if dateFrom is not None else 0
    end = dateTo if dateTo is not None else int(datetime.now(UTC).timestamp()) + 1
    if end < start or end - start > 30 * 86400 + 1:
        return marketplace_error(400, "IncorrectParameter", "the date window is at most 30 days")
    token = request.headers["authorization"]
    rows = [
        o for o in _desk(request).orders_of(token) if start <= o.created.timestamp() <= end and o.id > next
    ]
    page = rows[:limit]
    return JSONResponse(
        {"next": page[-1].id if page else next, "orders": [_task(acc, o, new=False) for o in page]}
    )


@router.post("/api/v3/orders/status")
async def statuses(request: Request) -> Response:
    request_account(request)
    ids = (await request.json()).get("orders")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 1000:
        return marketplace_error(400, "IncorrectRequest", "orders: 1–1000 ids")
    token = request.headers["authorization"]
    by_id = {o.id: o for o in _desk(request).orders_of(token)}
    out = []
    for i in ids:
        o = by_id.get(i)
        if o is not None:
            supplier, wb = STATUS[o.status]
            out.append({"id": o.id, "supplierStatus": supplier, "wbStatus": wb})
    return JSONResponse({"orders": out})
