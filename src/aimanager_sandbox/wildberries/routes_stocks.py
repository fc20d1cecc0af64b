"""Wildberries Marketplace API: seller warehouses and FBS stocks (PUT answers 204; POST reads)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from aimanager_sandbox.common.sandbox import Sandbox
from aimanager_sandbox.wildberries.state import WAREHOUSES, generic_error, request_account

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
        return generic_error(404, "not found", "warehouse not found")
    stocks = (await request.json()).get("stocks")
    if not isinstance(stocks, list) or not 1 <= len(stocks) <= 1000:
        return generic_error(400, "bad request", "stocks: 1–1000 items")
    known = acc.chrt_ids()
    # Items without both documented keys are ignored without a word, like the real API.
    valid = [s for s in stocks if isinstance(s, dict) and "chrtId" in s and "amount" in s]
    unknown = [s for s in valid if s["chrtId"] not in known or not 0 <= int(s["amount"]) <= 100_000]
    if unknown:
        return generic_error(409, "conflict", f"{len(unknown)} stock items refused: unknown chrtId or amount")
    with sb.lock:
        for s in valid:
            acc.stocks[(warehouse_id, s["chrtId"])] = int(s["amount"])
        acc.stock_writes += 1
    return Response(status_code=204)


@router.post("/api/v3/stocks/{warehouse_id}")
async def get_stocks(request: Request, warehouse_id: int) -> Response:
    acc = request_account(request)
    ids = (await request.json()).get("chrtIds")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 1000:
        return generic_error(400, "bad request", "chrtIds: 1–1000 items")
    known = acc.chrt_ids()
    rows = [{"chrtId": i, "amount": acc.stocks.get((warehouse_id, i), 0)} for i in ids if i in known]
    return JSONResponse({"stocks": rows})
