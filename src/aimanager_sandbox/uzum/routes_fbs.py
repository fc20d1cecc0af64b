"""Uzum FBS orders over the sandbox's order desk: the list, and the seller's confirmation.

* ``GET /v2/fbs/orders?shopIds=…&status?&dateFrom?&dateTo?&page=0&size≤50`` → ``{payload: {orders,
  totalAmount}}`` (creation window in seconds or milliseconds, like the other Uzum reads);
* ``POST /v1/fbs/order/{orderId}/confirm`` → the order, now ``PACKING``. Uzum wants a new FBS order
  confirmed: the desk cancels one still ``CREATED`` at its shipping time (``needs_confirm``).

Shown stock is the FBS amount stored by barcode; orders name the SKU by ``sellerSkuCode``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response

from aimanager_sandbox.common.orders import OrderDesk, SandboxOrder
from aimanager_sandbox.uzum.state import UzumShop, as_ms, envelope, refuse, request_shop, wrong_shop

router = APIRouter()
STATUS = {"new": "CREATED", "confirmed": "PACKING", "shipped": "DELIVERING", "cancelled": "CANCELED"}
MAX_ORDERS_PAGE = 50


def _skus(acc: UzumShop) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    return {
        s["sellerItemCode"]: (p, s)
        for p in acc.products.values()
        for s in p["skuList"]
        if s.get("sellerItemCode")
    }


class UzumShelf:
    def offers(self, acc: UzumShop) -> list[str]:
        return sorted(code for code, (_, s) in _skus(acc).items() if s.get("barcode") in acc.stocks)

    def shown(self, acc: UzumShop, offer_id: str) -> int:
        found = _skus(acc).get(offer_id)
        return int(acc.stocks.get(found[1]["barcode"], 0)) if found else 0

    def take(self, acc: UzumShop, offer_id: str, quantity: int) -> None:
        barcode = _skus(acc)[offer_id][1]["barcode"]
        acc.stocks[barcode] = int(acc.stocks.get(barcode, 0)) - quantity


def _order(acc: UzumShop, o: SandboxOrder) -> dict[str, Any]:
    product, sku = _skus(acc).get(o.offer_id) or ({}, {})
    price = int(sku.get("price") or 0)
    created = int(o.created.timestamp() * 1000)
    return {
        "id": o.id,
        "status": STATUS[o.status],
        "dateCreated": created,
        "acceptUntil": created + 2 * 3600 * 1000,
        "deliverUntil": created + 48 * 3600 * 1000,
        "price": price * o.quantity,
        "shopId": acc.shop_id,
        "scheme": "FBS",
        "orderItems": [
            {
                "skuTitle": sku.get("skuTitle"),
                "sellerSkuCode": o.offer_id,
                "productId": product.get("productId"),
                "sellerPrice": price,
                "amount": o.quantity,
                "returnCause": o.reason or None,
            }
        ],
    }


@router.get("/v2/fbs/orders")
async def orders(
    request: Request,
    shopIds: list[int] = Query(...),
    status: str | None = None,
    dateFrom: int | None = None,
    dateTo: int | None = None,
    page: int = 0,
    size: int = MAX_ORDERS_PAGE,
) -> Response:
    acc = request_shop(request)
    for shop in shopIds:
        if (refusal := wrong_shop(acc, shop)) is not None:
            return refusal
    if not 1 <= size <= MAX_ORDERS_PAGE or page < 0:
        return refuse(400, "seller-order-12", f"size must be 1..{MAX_ORDERS_PAGE}, page ≥ 0")
    start = as_ms(dateFrom) if dateFrom is not None else 0
    end = as_ms(dateTo) if dateTo is not None else 1 << 62
    desk: OrderDesk = request.app.state.orders
    rows = [
        _order(acc, o)
        for o in desk.orders_of(request.headers["authorization"])
        if start <= int(o.created.timestamp() * 1000) <= end
    ]
    rows = [r for r in rows if status is None or r["status"] == status]
    return envelope({"orders": rows[page * size : (page + 1) * size], "totalAmount": len(rows)})


@router.post("/v1/fbs/order/{order_id}/confirm")
async def confirm(request: Request, order_id: int) -> Response:
    acc = request_shop(request)
    desk: OrderDesk = request.app.state.orders
    order = desk.confirm(request.headers["authorization"], order_id)
    if order is None:
        return refuse(404, "seller-order-02", f"Order {order_id} not found")
    if order.status != "confirmed":
        return refuse(400, "seller-order-05", f"Order {order_id} is {STATUS[order.status]}, not CREATED")
    return envelope(_order(acc, order))
