"""Ozon FBS stocks: warehouses, stock writes (one per pair per 30 s) and the paged stock read."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from aimanager_sandbox.common.sandbox import Sandbox
from aimanager_sandbox.ozon.state import WAREHOUSES, OzonAccount, answer_page, batch_of, request_account

router = APIRouter()


@router.post("/v1/warehouse/list")
async def warehouse_list(request: Request) -> dict[str, Any]:
    request_account(request)
    return {"result": [{**w, "is_rfbs": True, "status": "created"} for w in WAREHOUSES]}


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
            {"type": "fbs", "present": present, "reserved": 0, "sku": p["sku"], "warehouse_ids": sorted(whs)}
        ],
    }


@router.post("/v4/product/info/stocks")
async def info_stocks(request: Request) -> Response:
    return await answer_page(request, stock_item)
