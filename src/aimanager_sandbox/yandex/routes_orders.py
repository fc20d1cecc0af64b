"""YM business orders: a 30-day creation window, page tokens, internal fields kept out."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

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
    try:
        start = date.fromisoformat(dates["creationDateFrom"])
        end = date.fromisoformat(dates["creationDateTo"])
    except (KeyError, TypeError, ValueError):
        return ym_error(400, "BAD_REQUEST", "dates.creationDateFrom and creationDateTo are required")
    if limit > 50 or end < start or (end - start).days > 30:
        return ym_error(400, "BAD_REQUEST", "limit ≤ 50 and a date window of at most 30 days")
    campaigns = body.get("campaignIds")
    rows = [
        o
        for o in acc.orders
        if start <= date.fromisoformat(o["creationDate"][:10]) <= end
        and (not campaigns or o["campaignId"] in campaigns)
    ]
    offset = read_page_token(pageToken or page_token)
    if offset < 0:
        return ym_error(400, "BAD_REQUEST", "Invalid page token")
    page = [{k: v for k, v in o.items() if not k.startswith("_")} for o in rows[offset : offset + limit]]
    return JSONResponse({"orders": page, "paging": paging(offset, limit, len(rows))})
