"""Ozon FBS stocks: warehouses (the cursor-paged v2 list), stock writes (one per pair per 30 s) and the
paged stock read (each stock row with its ``shipment_type``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from aimanager_sandbox.common.sandbox import Sandbox
from aimanager_sandbox.ozon.state import (
    WAREHOUSES,
    OzonAccount,
    answer_page,
    batch_of,
    make_cursor,
    read_cursor,
    request_account,
    rpc_error,
)

router = APIRouter()


def _warehouse(w: dict[str, Any]) -> dict[str, Any]:
    return {**w, "is_rfbs": True, "status": "created", "warehouse_type": "FBS", "has_postings_limit": False}


@router.post("/v1/warehouse/list")
async def warehouse_list(request: Request) -> dict[str, Any]:
    """The superseded list (``{result: [...]}``): kept for old clients; the connector uses v2."""
    request_account(request)
    return {"result": [_warehouse(w) for w in WAREHOUSES]}


@router.post("/v2/warehouse/list")
async def warehouse_list_v2(request: Request) -> Response:
    """The cursor-paged list: ``{warehouses, cursor, has_next}`` (``limit`` 1–200)."""
    request_account(request)
    body = await request.json()
    limit = int(body.get("limit") or 50)
    if not 1 <= limit <= 200:
        return rpc_error(400, 3, "limit must be 1–200")
    start = read_cursor(body.get("cursor") or "")
    page = WAREHOUSES[start : start + limit]
    end = start + len(page)
    more = end < len(WAREHOUSES)
    return JSONResponse(
        {
            "warehouses": [_warehouse(w) for w in page],
            "cursor": make_cursor(end) if more else "",
            "has_next": more,
        }
    )


@router.post("/v2/products/stocks")
async def products_stocks(request: Request) -> Response:
    acc = request_account(request)
    sb: Sandbox = request.app.state.sandbox
    stocks = await batch_of(request, "stocks", 100, "product–warehouse pairs")
    if isinstance(stocks, Response):
        return stocks
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


def stock_item(acc: OzonAccount, p: dict[str, Any]) -> dict[str, Any]:
    whs = [w for (o, w) in acc.stocks if o == p["offer_id"]]
    present = sum(acc.stocks[(p["offer_id"], w)] for w in whs)
    return {
        "offer_id": p["offer_id"],
        "product_id": p["product_id"],
        "stocks": [
            {
                "type": "fbs",
                "shipment_type": "SHIPMENT_TYPE_GENERAL",
                "present": present,
                "reserved": 0,
                "sku": p["sku"],
                "warehouse_ids": sorted(whs),
            }
        ],
    }


@router.post("/v4/product/info/stocks")
async def info_stocks(request: Request) -> Response:
    return await answer_page(request, stock_item)
