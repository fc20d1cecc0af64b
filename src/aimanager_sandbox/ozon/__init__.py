"""Ozon Seller-API sandbox: product import tasks, prices, FBS stocks, stock/price reads, analytics.

Follows ``reference/marketplace-apis.md`` §4: ``Client-Id`` + ``Api-Key`` (state per Client-Id);
50 rps per Client-Id plus 80/min on ``/v2/products/stocks`` and 1/min on ``/v1/analytics/data``
(429 with an ``rpcStatus`` body); errors as ``{code, message, details}``; batch writes answer 200 with
per-item ``errors`` and ``updated:false``; import tasks go pending → imported | failed | skipped
(skipped when nothing changed) after ``task_delay``; a stock pair accepts one update per 30 s
(``TOO_MANY_REQUESTS``), a product's price 10 changes per hour; opaque string cursors.

Item error codes not given by the spec are marked [I] where used. Python accessor for tests:
``app.state.sandbox.account(client_id)`` → ``OzonAccount``.
"""

from __future__ import annotations

from collections import deque
from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from aimanager.domain.enums import Marketplace
from aimanager_sandbox.marketplaces.common import (
    Hooks,
    Sandbox,
    SandboxConfig,
    install,
)
from aimanager_sandbox.marketplaces.ozon.state import (
    CATEGORIES,
    LIMITS,
    WAREHOUSES,
    OzonAccount,
    group_of,
    make_cursor,
    new_account,
    old_price_ok,
    read_cursor,
    rpc_error,
    tick,
)


def create_app(config: SandboxConfig | None = None) -> FastAPI:
    """Build an Ozon sandbox app (state in ``app.state.sandbox``, one account per Client-Id)."""
    sb = Sandbox(config or SandboxConfig(), LIMITS, new_account)
    app = FastAPI(title="Ozon sandbox")

    def account_of(request: Request) -> str | None:
        client_id, key = request.headers.get("client-id"), request.headers.get("api-key")
        if not client_id or not client_id.isdigit() or not sb.is_valid(key):
            return None
        return client_id

    install(
        app,
        sb,
        Hooks(
            account_of=account_of,
            group_of=group_of,
            unauthorized=lambda: rpc_error(403, 7, "Invalid Api-Key, please contact support"),
            rate_limited=lambda retry, spec, rem: rpc_error(
                429, 8, "You have reached request rate limit per second"
            ),
            server_error=lambda status: rpc_error(status, 13, "internal error"),
        ),
        marketplace=Marketplace.OZON,
    )

    def acc_of(request: Request) -> OzonAccount:
        acc: OzonAccount = sb.account(request.headers["client-id"])
        with sb.lock:
            tick(sb, acc)
        return acc

    @app.post("/v3/product/import")
    async def product_import(request: Request) -> Response:
        acc = acc_of(request)
        items = (await request.json()).get("items")
        if not isinstance(items, list) or not 1 <= len(items) <= 100:
            return rpc_error(400, 3, "items: 1–100 products per request")
        with sb.lock:
            task_id = acc.new_id()
            acc.tasks[task_id] = {"items": items, "ready_at": sb.ready_at(), "results": None}
        return JSONResponse({"result": {"task_id": task_id}})

    @app.post("/v1/product/import/info")
    async def import_info(request: Request) -> Response:
        acc = acc_of(request)
        task = acc.tasks.get(int((await request.json()).get("task_id") or 0))
        if task is None:
            return rpc_error(404, 5, "task not found")
        items = task["results"] or [
            {"offer_id": i.get("offer_id"), "product_id": 0, "status": "pending", "errors": []}
            for i in task["items"]
        ]
        return JSONResponse({"result": {"items": items, "total": len(items)}})

    @app.post("/v1/product/import/prices")
    async def import_prices(request: Request) -> Response:
        acc = acc_of(request)
        prices = (await request.json()).get("prices")
        if not isinstance(prices, list) or not 1 <= len(prices) <= 1000:
            return rpc_error(400, 3, "prices: 1–1000 items per request")
        out = []
        with sb.lock:
            now = sb.now()
            for p in prices:
                offer = str(p.get("offer_id") or "")
                product = acc.products.get(offer)
                row: dict[str, Any] = {
                    "offer_id": offer,
                    "product_id": product["product_id"] if product else 0,
                    "updated": False,
                    "errors": [],
                }
                out.append(row)
                if product is None:
                    row["errors"] = [
                        {"code": "PRODUCT_IS_NOT_CREATED", "message": "product not found"}
                    ]  # [I]
                    continue
                events = acc.price_events.setdefault(offer, deque())
                while events and events[0] <= now - 3600:
                    events.popleft()
                if len(events) >= 10:
                    row["errors"] = [
                        {"code": "TOO_MANY_REQUESTS", "message": "price changes limit: 10 per hour"}
                    ]  # [I]
                    continue
                price = Decimal(str(p.get("price") or "0"))
                old = Decimal(str(p.get("old_price") or "0"))
                if price <= 0 or not old_price_ok(price, old):
                    row["errors"] = [
                        {"code": "INVALID_PRICE", "message": "price/old_price gap rule violated"}
                    ]  # [I]
                    continue
                events.append(now)
                minimum = Decimal(str(p.get("min_price") or product["min_price"]))
                if (product["price"], product["old_price"], product["min_price"]) != (price, old, minimum):
                    product.update(price=price, old_price=old, min_price=minimum)
                    acc.price_changes += 1
                row["updated"] = True
        return JSONResponse({"result": out})

    @app.post("/v1/warehouse/list")
    async def warehouse_list(request: Request) -> dict[str, Any]:
        acc_of(request)
        return {"result": [{**w, "is_rfbs": True, "status": "created"} for w in WAREHOUSES]}

    @app.post("/v2/products/stocks")
    async def products_stocks(request: Request) -> Response:
        acc = acc_of(request)
        stocks = (await request.json()).get("stocks")
        if not isinstance(stocks, list) or not 1 <= len(stocks) <= 100:
            return rpc_error(400, 3, "stocks: 1–100 product–warehouse pairs per request")
        known_wh = {w["warehouse_id"] for w in WAREHOUSES}
        out = []
        with sb.lock:
            now = sb.now()
            for s in stocks:
                offer, wh = str(s.get("offer_id") or ""), int(s.get("warehouse_id") or 0)
                product = acc.products.get(offer)
                row: dict[str, Any] = {
                    "offer_id": offer,
                    "product_id": product["product_id"] if product else 0,
                    "warehouse_id": wh,
                    "updated": False,
                    "errors": [],
                }
                out.append(row)
                if product is None:
                    row["errors"] = [{"code": "offer_id_not_found", "message": "offer not found"}]
                elif wh not in known_wh:
                    row["errors"] = [{"code": "WAREHOUSE_NOT_FOUND", "message": "warehouse not found"}]
                elif now - acc.stock_sent.get((offer, wh), -1e18) < 30:
                    row["errors"] = [{"code": "TOO_MANY_REQUESTS", "message": "one update per pair per 30 s"}]
                else:
                    acc.stock_sent[(offer, wh)] = now
                    acc.stocks[(offer, wh)] = int(s.get("stock") or 0)
                    row["updated"] = True
        return JSONResponse({"result": out})

    async def _paged(request: Request) -> tuple[OzonAccount, list[dict[str, Any]], int, int] | Response:
        acc = acc_of(request)
        body = await request.json()
        limit = int(body.get("limit") or 100)
        if not 1 <= limit <= 1000:
            return rpc_error(400, 3, "limit must be 1–1000")
        wanted = (body.get("filter") or {}).get("offer_id")
        products = [p for o, p in sorted(acc.products.items()) if not wanted or o in wanted]
        return acc, products, read_cursor(body.get("cursor") or ""), limit

    def _page(items: list[dict[str, Any]], start: int, limit: int, total: int) -> dict[str, Any]:
        end = start + len(items)
        return {"items": items, "cursor": make_cursor(end) if end < total else "", "total": total}

    @app.post("/v4/product/info/stocks")
    async def info_stocks(request: Request) -> Response:
        paged = await _paged(request)
        if isinstance(paged, Response):
            return paged
        acc, products, start, limit = paged
        items = []
        for p in products[start : start + limit]:
            whs = [w for (o, w) in acc.stocks if o == p["offer_id"]]
            present = sum(acc.stocks[(p["offer_id"], w)] for w in whs)
            items.append(
                {
                    "offer_id": p["offer_id"],
                    "product_id": p["product_id"],
                    "stocks": [
                        {
                            "type": "fbs",
                            "present": present,
                            "reserved": 0,
                            "sku": p["sku"],
                            "warehouse_ids": sorted(whs),
                        }
                    ],
                }
            )
        return JSONResponse(_page(items, start, limit, len(products)))

    @app.post("/v5/product/info/prices")
    async def info_prices(request: Request) -> Response:
        paged = await _paged(request)
        if isinstance(paged, Response):
            return paged
        _, products, start, limit = paged
        items = []
        for p in products[start : start + limit]:
            _, pct, deliv = CATEGORIES.get(p["description_category_id"], (set(), "15", "80"))
            items.append(
                {
                    "offer_id": p["offer_id"],
                    "product_id": p["product_id"],
                    "price": {
                        "price": str(p["price"]),
                        "old_price": str(p["old_price"]),
                        "min_price": str(p["min_price"]),
                        "currency_code": p["currency_code"],
                    },
                    "commissions": {
                        "sales_percent_fbs": float(pct),
                        "sales_percent_fbo": float(pct) + 2,
                        "fbs_deliv_to_customer_amount": float(deliv),
                        "fbo_deliv_to_customer_amount": float(deliv),
                    },
                }
            )
        return JSONResponse(_page(items, start, limit, len(products)))

    @app.post("/v1/analytics/data")
    async def analytics(request: Request) -> Response:
        acc = acc_of(request)
        body = await request.json()
        try:
            start, end = date.fromisoformat(body["date_from"]), date.fromisoformat(body["date_to"])
        except (KeyError, ValueError):
            return rpc_error(400, 3, "date_from and date_to are required")
        limit, offset = int(body.get("limit") or 1000), int(body.get("offset") or 0)
        if not 1 <= limit <= 1000 or body.get("dimension") != ["sku", "day"]:
            return rpc_error(400, 3, "limit must be 1–1000; this sandbox serves dimension [sku, day]")
        totals: dict[tuple[int, date], list[Decimal]] = {}
        for h in acc.history:
            product = acc.products.get(h.offer_id)
            if product is None or not start <= h.day <= end or h.returned:
                continue
            cell = totals.setdefault((product["sku"], h.day), [Decimal(0), Decimal(0)])
            cell[0] += h.unit_price * h.quantity
            cell[1] += h.quantity
        keys = sorted(totals, key=lambda k: (k[1], k[0]))[offset : offset + limit]
        data = [
            {
                "dimensions": [{"id": str(sku), "name": ""}, {"id": day.isoformat(), "name": ""}],
                "metrics": [float(totals[(sku, day)][0]), float(totals[(sku, day)][1])],
            }
            for sku, day in keys
        ]
        return JSONResponse({"result": {"data": data, "totals": []}, "timestamp": ""})

    return app
