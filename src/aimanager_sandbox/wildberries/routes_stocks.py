"""Wildberries Marketplace API: seller warehouses and FBS stocks (PUT answers 204; POST reads).

Errors are the Marketplace API's own: ``{code, message}`` for 400/404 and, for a 409, a *list* of
``{code, message, data}`` naming the refused items (``data``: their ``chrtId`` and ``amount``). The 409
codes are [I] (the spec gives the shape, not the catalogue of codes).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from aimanager_sandbox.common.sandbox import Sandbox
from aimanager_sandbox.wildberries.state import WAREHOUSES, marketplace_error, request_account

router = APIRouter()


@router.get("/api/v3/warehouses")
async def warehouses(request: Request) -> list[dict[str, Any]]:
    request_account(request)
    return [{**w, "officeId": 1, "cargoType": 1, "deliveryType": 1} for w in WAREHOUSES]


@router.put("/api/v3/stocks/{warehouse_id}")
async def put_stocks(request: Request, warehouse_id: int) -> Response:
    acc = request_account(request)
    sb: Sandbox = request.app.state.sandbox
    if warehouse_id not in {w["id"] for w in WAREHOUSES}:
        return marketplace_error(404, "NotFound", "Склад не найден")
    stocks = (await request.json()).get("stocks")
    if not isinstance(stocks, list) or not 1 <= len(stocks) <= 1000:
        return marketplace_error(400, "IncorrectRequest", "stocks: 1–1000 items")
    known = acc.chrt_ids()
    # Items without both documented keys are ignored without a word, like the real API.
    valid = [s for s in stocks if isinstance(s, dict) and "chrtId" in s and "amount" in s]
    unknown = [s for s in valid if s["chrtId"] not in known]
    too_many = [s for s in valid if s["chrtId"] in known and not 0 <= int(s["amount"]) <= 100_000]
    if unknown or too_many:
        refused = []
        if unknown:
            refused.append(
                {
                    "code": "NotFound",
                    "message": "Размер товара не найден",
                    "data": [_item(s) for s in unknown],
                }
            )
        if too_many:
            refused.append(
                {
                    "code": "CargoWarehouseRestrictionMaxAmount",
                    "message": "Остаток больше 100000",
                    "data": [_item(s) for s in too_many],
                }
            )
        return JSONResponse(status_code=409, content=refused)
    with sb.lock:
        for s in valid:
            acc.stocks[(warehouse_id, s["chrtId"])] = int(s["amount"])
        acc.stock_writes += 1
    return Response(status_code=204)


def _item(s: dict[str, Any]) -> dict[str, Any]:
    return {"chrtId": s["chrtId"], "amount": int(s["amount"])}


@router.post("/api/v3/stocks/{warehouse_id}")
async def get_stocks(request: Request, warehouse_id: int) -> Response:
    acc = request_account(request)
    ids = (await request.json()).get("chrtIds")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 1000:
        return marketplace_error(400, "IncorrectRequest", "chrtIds: 1–1000 items")
    known = acc.chrt_ids()
    rows = [{"chrtId": i, "amount": acc.stocks.get((warehouse_id, i), 0)} for i in ids if i in known]
    return JSONResponse({"stocks": rows})
