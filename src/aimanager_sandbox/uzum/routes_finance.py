"""Uzum finance orders: the seeded order lines of a shop, by date (seconds or milliseconds), paged."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from aimanager_sandbox.uzum.state import (
    MAX_PAGE,
    as_ms,
    refuse,
    request_shop,
    wrong_shop,
)

router = APIRouter()


@router.get("/v1/finance/orders")
async def finance_orders(
    request: Request,
    shopIds: int,
    page: int = 0,
    size: int = 20,
    dateFrom: int | None = None,
    dateTo: int | None = None,
) -> Response:
    acc = request_shop(request)
    if (refusal := wrong_shop(acc, shopIds)) is not None:
        return refusal
    if size < 1 or size > MAX_PAGE or page < 0:
        return refuse(400, "validation-error", f"size must be 1..{MAX_PAGE}, page ≥ 0")
    lo = as_ms(dateFrom) if dateFrom is not None else 0
    hi = as_ms(dateTo) if dateTo is not None else 2**62
    rows = [r for r in acc.finance if lo <= r["date"] <= hi]
    return JSONResponse({"orderItems": rows[page * size : (page + 1) * size], "totalElements": len(rows)})
