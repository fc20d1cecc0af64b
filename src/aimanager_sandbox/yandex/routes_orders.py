"""YM business orders: a 30-day creation (or update) window, page tokens, internal fields kept out.

The rows are the seeded history and the FBS orders of the sandbox's order desk (``routes_fbs``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from aimanager_sandbox.yandex.routes_fbs import order_of
from aimanager_sandbox.yandex.state import (
    account_and_body,
    paging,
    read_page_token,
    ym_error,
)

router = APIRouter()


@router.post("/v1/businesses/{business_id}/orders")
async def orders(
    request: Request,
    business_id: int,
    limit: int = 50,
    pageToken: str | None = None,
    page_token: str | None = None,
) -> Response:
    opened = await account_and_body(request, business_id)
    if isinstance(opened, Response):
        return opened
    acc, body = opened
    dates = body.get("dates") or {}
    # Either window: by creation (the history reads) or by last update (the FBS order feed).
    field, prefix = ("updateDate", "update") if "updateDateFrom" in dates else ("creationDate", "creation")
    try:
        start = date.fromisoformat(dates[f"{prefix}DateFrom"])
        end = date.fromisoformat(dates[f"{prefix}DateTo"])
    except (KeyError, TypeError, ValueError):
        return ym_error(400, "BAD_REQUEST", "dates.creationDateFrom and creationDateTo are required")
    if limit > 50 or end < start or (end - start).days > 30:
        return ym_error(400, "BAD_REQUEST", "limit ≤ 50 and a date window of at most 30 days")
    campaigns = body.get("campaignIds")
    programs = body.get("programTypes")
    desk = getattr(request.app.state, "orders", None)
    live: list[dict[str, Any]] = (
        [order_of(acc, o) for o in desk.orders_of(request.headers["api-key"])] if desk else []
    )
    rows = [
        o
        for o in [*acc.orders, *live]
        if start <= date.fromisoformat(str(o.get(field) or o["creationDate"])[:10]) <= end
        and (not campaigns or o["campaignId"] in campaigns)
        and (not programs or o.get("programType") in programs)
    ]
    offset = read_page_token(pageToken or page_token)
    if offset < 0:
        return ym_error(400, "BAD_REQUEST", "Invalid page token")
    page = [{k: v for k, v in o.items() if not k.startswith("_")} for o in rows[offset : offset + limit]]
    return JSONResponse({"orders": page, "paging": paging(offset, limit, len(rows))})
