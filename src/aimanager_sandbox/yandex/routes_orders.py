"""YM business orders: a 30-day creation window, page tokens, internal fields kept out."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from aimanager_sandbox.yandex.state import (
    body_of,
    denied,
    make_page_token,
    read_page_token,
    request_account,
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
    acc = request_account(request)
    if (refusal := denied(acc, business_id)) is not None:
        return refusal
    body, refusal = await body_of(request)
    if refusal is not None:
        return refusal
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
    nxt = make_page_token(offset + limit) if offset + limit < len(rows) else None
    return JSONResponse({"orders": page, "paging": {"nextPageToken": nxt} if nxt else {}})
