"""Uzum Market seller OpenAPI sandbox, on ``common``'s machinery.

Speaks what ``connectors.uzum`` uses: ``GET /v1/shops``, products (``GET /v1/product/shop/{shopId}``,
``page``/``size``), prices (``POST /v1/product/{shopId}/sendPriceData``), FBS stocks
(``POST /v2/fbs/sku/stocks``, ``GET /v2`` and paged ``GET /v3/fbs/sku/stocks``) and finance orders
(``GET /v1/finance/orders``). Raw
``Authorization: <token>`` (a ``Bearer`` prefix is refused here, the canonical form is raw), the three
envelope styles, integer UZS (a fractional price is a 400), epoch-millisecond timestamps (``dateFrom``/
``dateTo`` accepted in seconds or milliseconds), and a 403 ``fbs-2-seller-access-denied`` for tokens
listed in ``config.extra["no_sku_read"]``.

Uzum publishes no rate limits (gap G-1): the sandbox enforces ``config.extra["limits"]`` (default: the
connector's assumed 3 reads/s and 4 writes/s) and answers 429 with **no** retry headers, as observed.
No product-create endpoint exists — cards are exported by the connector.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from aimanager.domain.enums import Marketplace
from aimanager_sandbox.marketplaces.common import (
    Hooks,
    Limit,
    Sandbox,
    SandboxConfig,
    install,
    seeded_history,
)

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


def _new_shop(sb: Sandbox, token: str) -> UzumShop:
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
    cfg = sb.config
    for h in seeded_history(
        rng, offers, end=cfg.history_end, days=cfg.history_days, per_day=cfg.history_orders_per_day
    ):
        product, sku = index[h.offer_id]
        price = int(h.unit_price)
        commission = int(price * h.quantity * sku["commission"] / 100)
        shop.finance.append(
            {
                "id": 9_000_000 + h.seq,
                "status": "CANCELED" if h.returned else "TO_WITHDRAW",
                "date": int(datetime.combine(h.day, time(10 + h.seq % 10), tzinfo=UTC).timestamp() * 1000),
                "orderId": 5_000_000 + h.seq,
                "productId": product["productId"],
                "productTitle": product["title"],
                "skuTitle": sku["skuTitle"],
                "shopId": shop.shop_id,
                "sellPrice": price,
                "amount": h.quantity,
                "amountReturns": h.quantity if h.returned else 0,
                "commission": commission,
                "sellerProfit": price * h.quantity - commission - int(h.logistics),
                "purchasePrice": None,
                "logisticDeliveryFee": int(h.logistics),
                "withdrawnProfit": 0,
                "cancelled": h.quantity if h.returned else 0,
                "returnCause": None,
                "dateIssued": None,
            }
        )
    return shop


def _envelope(
    payload: Any = None, errors: list[dict[str, Any]] | None = None, status: int = 200
) -> JSONResponse:
    now = int(datetime.now(UTC).timestamp() * 1000)
    body = {"payload": payload, "errors": errors or [], "timestamp": now, "trace": None, "error": None}
    return JSONResponse(status_code=status, content=body)


def _refuse(status: int, code: str, message: str) -> JSONResponse:
    return _envelope(None, [{"code": code, "message": message, "detailMessage": None, "payload": {}}], status)


def _group(method: str, path: str) -> str | None:
    if path.startswith("/_sandbox"):
        return None
    return "read" if method == "GET" else "write"


def _ms(value: int) -> int:
    """Accept seconds or milliseconds (the API's unit is not documented; clients use both)."""
    return value * 1000 if value < 100_000_000_000 else value


def create_app(config: SandboxConfig | None = None) -> FastAPI:
    """Build an Uzum sandbox app (state in ``app.state.sandbox``; accounts are ``UzumShop``)."""
    cfg = config or SandboxConfig()
    limits = {
        k: Limit(*v) if isinstance(v, tuple) else v
        for k, v in cfg.extra.get("limits", DEFAULT_LIMITS).items()
    }
    sb = Sandbox(cfg, limits, _new_shop)
    app = FastAPI(title="Uzum Market seller OpenAPI sandbox")

    def token_of(request: Request) -> str | None:
        token = request.headers.get("authorization")
        if token is None or token.lower().startswith("bearer ") or not sb.is_valid(token):
            return None
        return token

    install(
        app,
        sb,
        Hooks(
            account_of=token_of,
            group_of=_group,
            unauthorized=lambda: _refuse(401, "unauthorized", "Full authentication is required"),
            rate_limited=lambda retry, spec, remaining: _refuse(
                429, "too-many-requests", "Too many requests"
            ),
            server_error=lambda status: _refuse(status, "internal-error", "Internal server error"),
        ),
        marketplace=Marketplace.UZUM,
    )

    def shop(request: Request) -> UzumShop:
        found: UzumShop = sb.account(request.headers["authorization"])
        return found

    def wrong_shop(acc: UzumShop, shop_id: int) -> Response | None:
        if shop_id != acc.shop_id:
            return _refuse(403, "seller-shop-01", f"Shop {shop_id} does not belong to the seller")
        return None

    def no_sku_access(request: Request, permission: str) -> Response | None:
        if request.headers["authorization"] in cfg.extra.get("no_sku_read", set()):
            return _refuse(
                403, "fbs-2-seller-access-denied", f"Access denied: permission {permission} required"
            )
        return None

    async def body_of(request: Request) -> Any:
        try:
            return json.loads(await request.body() or b"null")
        except ValueError:
            return None

    @app.get("/v1/shops")
    async def shops(request: Request) -> list[dict[str, Any]]:
        return [{"id": shop(request).shop_id, "name": "Sandbox shop"}]

    @app.get("/v1/product/shop/{shop_id}")
    async def products(request: Request, shop_id: int, page: int = 0, size: int = 20) -> Response:
        acc = shop(request)
        if (refusal := wrong_shop(acc, shop_id)) is not None:
            return refusal
        if size < 1 or size > MAX_PAGE or page < 0:
            return _refuse(400, "validation-error", f"size must be 1..{MAX_PAGE}, page ≥ 0")
        items = list(acc.products.values())
        page_items = items[page * size : (page + 1) * size]
        return JSONResponse({"productList": page_items, "totalProductsAmount": len(items)})

    @app.post("/v1/product/{shop_id}/sendPriceData")
    async def send_price(request: Request, shop_id: int) -> Response:
        acc = shop(request)
        if (refusal := wrong_shop(acc, shop_id)) is not None:
            return refusal
        body = await body_of(request)
        if not isinstance(body, dict) or body.get("productId") not in acc.products or not body.get("skuList"):
            return _refuse(400, "product-01", "productId of this shop and a non-empty skuList are required")
        product = acc.products[body["productId"]]
        own = {s["skuId"]: s for s in product["skuList"]}
        errors: list[dict[str, Any]] = []
        for item in body["skuList"]:
            full, sell = item.get("fullPrice"), item.get("sellPrice")
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in (full, sell)):
                return _refuse(400, "validation-error", "fullPrice and sellPrice are int64 UZS")
            if item.get("skuId") not in own:
                errors.append(
                    {
                        "code": "product-04",
                        "message": "SKU is not in this product",
                        "payload": {"skuId": item.get("skuId")},
                    }
                )
            elif sell > full or sell <= 0:
                errors.append(
                    {
                        "code": "product-05",
                        "message": "sellPrice must be > 0 and ≤ fullPrice",
                        "payload": {"skuId": item["skuId"]},
                    }
                )
        with sb.lock:
            for item in body["skuList"]:
                sku = own.get(item["skuId"])
                if sku is None or any(e["payload"]["skuId"] == item["skuId"] for e in errors):
                    continue
                if (sku["price"], sku["fullPrice"]) != (item["sellPrice"], item["fullPrice"]):
                    sku["price"], sku["fullPrice"] = item["sellPrice"], item["fullPrice"]
                    acc.price_changes += 1
        return _envelope({"productId": product["productId"]}, errors)

    @app.post("/v2/fbs/sku/stocks")
    async def update_stocks(request: Request) -> Response:
        if (refusal := no_sku_access(request, "SKU_UPDATE")) is not None:
            return refusal
        acc = shop(request)
        body = await body_of(request)
        rows = body.get("skuAmountList") if isinstance(body, dict) else None
        if not isinstance(rows, list) or not rows:
            return _refuse(400, "validation-error", "skuAmountList is required")
        barcodes = [r.get("barcode") for r in rows]
        if any(not isinstance(b, str) or not b for b in barcodes) or len(set(barcodes)) != len(barcodes):
            return _refuse(400, "validation-error", "barcode is mandatory and must be unique")
        for r in rows:
            amount = r.get("amount")
            if not isinstance(amount, int) or isinstance(amount, bool) or not 0 <= amount <= MAX_AMOUNT:
                return _refuse(400, "validation-error", f"amount must be an integer 0..{MAX_AMOUNT}")
        known = acc.by_barcode()
        errors = []
        updated = 0
        with sb.lock:
            for r in rows:
                if r["barcode"] not in known:
                    errors.append(
                        {
                            "code": "storage-service-04",
                            "message": "SKU with this barcode not found",
                            "payload": {"barcode": r["barcode"]},
                        }
                    )
                    continue
                if acc.stocks.get(r["barcode"]) != r["amount"]:
                    acc.stock_changes += 1
                acc.stocks[r["barcode"]] = r["amount"]
                known[r["barcode"]][1]["quantityFbs"] = r["amount"]
                updated += 1
        return _envelope({"updatedRecords": updated}, errors)

    def stock_rows(acc: UzumShop) -> list[dict[str, Any]]:
        return [
            {
                "skuId": s["skuId"],
                "skuTitle": s["skuTitle"],
                "productTitle": p["title"],
                "barcode": barcode,
                "amount": acc.stocks[barcode],
                "fbsAllowed": True,
                "dbsAllowed": False,
                "fbsLinked": True,
                "dbsLinked": False,
                "sellerSkuCode": s["sellerItemCode"],
            }
            for barcode, (p, s) in acc.by_barcode().items()
            if barcode in acc.stocks
        ]

    @app.get("/v2/fbs/sku/stocks")
    async def stocks_v2(request: Request) -> Response:
        if (refusal := no_sku_access(request, "SKU_READ")) is not None:
            return refusal
        return _envelope({"skuAmountList": stock_rows(shop(request))})

    @app.get("/v3/fbs/sku/stocks")
    async def stocks_v3(request: Request, page: int = 0, size: int = 20) -> Response:
        if (refusal := no_sku_access(request, "SKU_READ")) is not None:
            return refusal
        if size < 1 or size > MAX_PAGE or page < 0:
            return _refuse(400, "validation-error", f"size must be 1..{MAX_PAGE}, page ≥ 0")
        rows = stock_rows(shop(request))
        return _envelope({"skuAmountList": rows[page * size : (page + 1) * size], "totalElements": len(rows)})

    @app.get("/v1/finance/orders")
    async def finance_orders(
        request: Request,
        shopIds: int,
        page: int = 0,
        size: int = 20,
        dateFrom: int | None = None,
        dateTo: int | None = None,
    ) -> Response:
        acc = shop(request)
        if (refusal := wrong_shop(acc, shopIds)) is not None:
            return refusal
        if size < 1 or size > MAX_PAGE or page < 0:
            return _refuse(400, "validation-error", f"size must be 1..{MAX_PAGE}, page ≥ 0")
        lo = _ms(dateFrom) if dateFrom is not None else 0
        hi = _ms(dateTo) if dateTo is not None else 2**62
        rows = [r for r in acc.finance if lo <= r["date"] <= hi]
        return JSONResponse({"orderItems": rows[page * size : (page + 1) * size], "totalElements": len(rows)})

    return app
