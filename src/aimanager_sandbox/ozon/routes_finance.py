"""Ozon daily accruals (``POST /v1/finance/accrual/by-day``) from the seeded sales history.

Each history sale of the day is a ``POSTING`` accrual: the sale amount, Ozon's commission at the
category's rate (booked negative) and the delivery charge per unit (negative). A returned sale adds a
second accrual the same day: the amount back (negative), the commission refunded (positive) and the
delivery charged again. Pages of ``PAGE`` accruals follow ``last_id`` (an opaque cursor; empty on the
last page). The shapes are ``ozon-sdk``'s ``FinanceV1GetFinanceAccrualByDayResponse``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from aimanager_sandbox.common.history import HistoryRow
from aimanager_sandbox.ozon.state import (
    OzonAccount,
    make_cursor,
    read_cursor,
    request_account,
    rpc_error,
)

router = APIRouter()
PAGE = 100


def _money(value: Decimal, currency: str) -> dict[str, str]:
    return {"amount": f"{value:.2f}", "currency": currency}


def _accrual(acc: OzonAccount, h: HistoryRow, *, refund: bool) -> dict[str, Any]:
    sign = Decimal(-1) if refund else Decimal(1)
    amount = h.unit_price * h.quantity
    commission = (amount * h.commission_pct / 100).quantize(Decimal("0.01"))
    delivery = h.logistics * h.quantity
    cur = acc.currency
    total = sign * amount + sign * -commission - delivery
    product = {
        "sku": acc.products[h.offer_id]["sku"],
        "commission": {
            "sale_amount": _money(sign * amount, cur),
            "commission": _money(sign * -commission, cur),
            "sale_commission": _money(sign * -commission, cur),
            "commission_ratio": f"{h.commission_pct / 100:.4f}",
            "sale_price": _money(h.unit_price, cur),
            "seller_price": _money(h.unit_price, cur),
        },
        "delivery": {
            "total_accrued": _money(-delivery, cur),
            "services": [{"accrued": _money(-delivery, cur), "type_id": 3}],
        },
    }
    return {
        "accrual_id": h.seq * 2 + int(refund),
        "accrued_category": "POSTING",
        "date": h.day.isoformat(),
        "unit_number": f"{h.seq:08d}-0001-{2 if refund else 1}",
        "posting": {"delivery_schema": "FBS", "products": [product]},
        "total_amount": _money(total, cur),
    }


def accruals_of(acc: OzonAccount, day: date) -> list[dict[str, Any]]:
    out = []
    for h in acc.history:
        if h.day != day or h.offer_id not in acc.products:
            continue
        out.append(_accrual(acc, h, refund=False))
        if h.returned:
            out.append(_accrual(acc, h, refund=True))
    return out


@router.post("/v1/finance/accrual/by-day")
async def accruals_by_day(request: Request) -> Response:
    acc = request_account(request)
    body = await request.json()
    try:
        day = date.fromisoformat(body["date"])
    except (KeyError, TypeError, ValueError):
        return rpc_error(400, 3, "date is required (YYYY-MM-DD)")
    if day < date(2022, 1, 1):
        return rpc_error(400, 3, "the earliest date is 2022-01-01")
    try:
        start = read_cursor(str(body.get("last_id") or ""))
    except (ValueError, IndexError):
        return rpc_error(400, 3, "invalid last_id")
    rows = accruals_of(acc, day)
    page = rows[start : start + PAGE]
    more = start + PAGE < len(rows)
    return JSONResponse({"accruals": page, "last_id": make_cursor(start + PAGE) if more else ""})
