"""Ozon analytics: revenue and units per (sku, day) from the seeded history (1 request/min)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from aimanager_sandbox.ozon.state import request_account, rpc_error

router = APIRouter()


@router.post("/v1/analytics/data")
async def analytics(request: Request) -> Response:
    acc = request_account(request)
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
