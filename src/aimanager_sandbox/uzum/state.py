"""State and wire helpers of the Uzum sandbox (the routes live in ``routes_*``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from aimanager_sandbox.common.history import HistoryRow, opening_history
from aimanager_sandbox.common.sandbox import Limit, Sandbox

DEFAULT_LIMITS = {"read": Limit(3, 1, 3), "write": Limit(4, 1, 4)}
MAX_AMOUNT = 100_000
MAX_PAGE = 100


@dataclass
class UzumShop:
    """State of one seller token: its shop, catalogue, prices, FBS stocks and seeded finance history."""

    shop_id: int
    products: dict[int, dict[str, Any]] = field(default_factory=dict)
    stocks: dict[str, int] = field(default_factory=dict)  # barcode → FBS amount
    price_changes: int = 0
    stock_changes: int = 0
    finance: list[dict[str, Any]] = field(default_factory=list)

    def by_barcode(self) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
        return {s["barcode"]: (p, s) for p in self.products.values() for s in p["skuList"]}


def new_shop(sb: Sandbox, token: str) -> UzumShop:
    rng = sb.history_rng(token)
    fixed = sb.config.extra.get("shops", {}).get(token) or sb.config.extra.get("shop_id")
    shop = UzumShop(shop_id=fixed or rng.randint(1000, 9999))
    count = int(sb.config.extra.get("products", 150))
    sku_id = 500_000
    for i in range(count):
        product_id = 100_000 + i
        sizes = ["M", "L"] if i % 10 == 9 else [""]
        skus = []
        for size in sizes:
            sku_id += 1
            code = f"UZ-{i:04d}" + (f"-{size}" if size else "")
            skus.append(
                {
                    "skuId": sku_id,
                    "skuTitle": f"Товар {i} {size}".strip(),
                    "skuFullTitle": f"Товар {i} {size}".strip(),
                    "barcode": f"478{sku_id:010d}",
                    "article": code,
                    "sellerItemCode": code,
                    "ikpu": "1234567890123456",
                    "price": rng.randint(50, 900) * 1000,
                    "fullPrice": None,
                    "commission": rng.choice([5, 8, 10, 12, 15]),
                    "quantityActive": 0,
                    "quantityFbs": 0,
                }
            )
        shop.products[product_id] = {
            "productId": product_id,
            "title": f"Товар {i}",
            "category": "Бытовая техника",
            "status": {"value": "IN_STOCK"},
            "moderationStatus": {"value": "MODERATED"},
            "commission": skus[0]["commission"],
            "skuList": skus,
        }
    offers = [
        (s["sellerItemCode"], Decimal(s["price"]))
        for p in list(shop.products.values())[:12]
        for s in p["skuList"]
    ]
    index = {s["sellerItemCode"]: (p, s) for p in shop.products.values() for s in p["skuList"]}
    for h in opening_history(sb.config, rng, offers):
        product, sku = index[h.offer_id]
        shop.finance.append(finance_row(h, shop.shop_id, product, sku, delivery=int(h.logistics)))
    return shop


def finance_row(
    h: HistoryRow, shop_id: int, product: dict[str, Any], sku: dict[str, Any], *, delivery: int
) -> dict[str, Any]:
    """One finance order line of the history: the SKU's commission % and ``delivery`` come off the sale."""
    price = int(h.unit_price)
    commission = int(price * h.quantity * sku["commission"] / 100)
    return {
        "id": 9_000_000 + h.seq,
        "status": "CANCELED" if h.returned else "TO_WITHDRAW",
        "date": int(datetime.combine(h.day, time(10 + h.seq % 10), tzinfo=UTC).timestamp() * 1000),
        "orderId": 5_000_000 + h.seq,
        "productId": product["productId"],
        "productTitle": product["title"],
        "skuTitle": sku["skuTitle"],
        "shopId": shop_id,
        "sellPrice": price,
        "amount": h.quantity,
        "amountReturns": h.quantity if h.returned else 0,
        "commission": commission,
        "sellerProfit": price * h.quantity - commission - delivery,
        "purchasePrice": None,
        "logisticDeliveryFee": delivery,
        "withdrawnProfit": 0,
        "cancelled": h.quantity if h.returned else 0,
        "returnCause": None,
        "dateIssued": None,
    }


def envelope(
    payload: Any = None, errors: list[dict[str, Any]] | None = None, status: int = 200
) -> JSONResponse:
    now = int(datetime.now(UTC).timestamp() * 1000)
    body = {"payload": payload, "errors": errors or [], "timestamp": now, "trace": None, "error": None}
    return JSONResponse(status_code=status, content=body)


def refuse(status: int, code: str, message: str) -> JSONResponse:
    return envelope(None, [{"code": code, "message": message, "detailMessage": None, "payload": {}}], status)


def group_of(method: str, path: str) -> str | None:
    if path.startswith("/_sandbox"):
        return None
    return "read" if method == "GET" else "write"


def as_ms(value: int) -> int:
    """Accept seconds or milliseconds (the API's unit is not documented; clients use both)."""
    return value * 1000 if value < 100_000_000_000 else value


def request_shop(request: Request) -> UzumShop:
    """The shop of the request's token."""
    sb: Sandbox = request.app.state.sandbox
    found: UzumShop = sb.account(request.headers["authorization"])
    return found


def wrong_shop(acc: UzumShop, shop_id: int) -> Response | None:
    if shop_id != acc.shop_id:
        return refuse(403, "seller-shop-01", f"Shop {shop_id} does not belong to the seller")
    return None


def no_sku_access(request: Request, permission: str) -> Response | None:
    sb: Sandbox = request.app.state.sandbox
    if request.headers["authorization"] in sb.config.extra.get("no_sku_read", set()):
        return refuse(403, "fbs-2-seller-access-denied", f"Access denied: permission {permission} required")
    return None


async def body_of(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"null")
    except ValueError:
        return None
