"""YM campaign stocks: the write (PUT) and the paged, item-counted read (POST)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from aimanager_sandbox.common.sandbox import Sandbox
from aimanager_sandbox.yandex.state import (
    account_and_body,
    api_key,
    ok,
    paging,
    read_page_token,
    take_items,
    ym_error,
)

router = APIRouter()


@router.put("/v2/campaigns/{campaign_id}/offers/stocks")
async def update_stocks(request: Request, campaign_id: int) -> Response:
    opened = await account_and_body(request, campaign=campaign_id)
    if isinstance(opened, Response):
        return opened
    acc, body = opened
    sb: Sandbox = request.app.state.sandbox
    skus = body.get("skus")
    if not isinstance(skus, list) or not 1 <= len(skus) <= 2000:
        return ym_error(400, "BAD_REQUEST", "skus must hold 1..2000 items")
    for s in skus:
        items = s.get("items")
        if (
            not isinstance(items, list)
            or len(items) != 1
            or not 0 <= items[0].get("count", -1) <= 2_000_000_000
        ):
            return ym_error(400, "BAD_REQUEST", f"{s.get('sku')}: exactly one item with 0 ≤ count ≤ 2·10⁹")
    if (refusal := take_items(sb, acc, api_key(request), "stocks-update", len(skus))) is not None:
        return refusal
    with sb.lock:
        for s in skus:
            count = s["items"][0]["count"]
            if acc.stocks.get(s["sku"], {}).get("count") != count:
                acc.stock_changes += 1
            # Without ``updatedAt`` the API stamps the update itself: a read shows a time, never null.
            stamp = s["items"][0].get("updatedAt") or sb.utcnow().isoformat()
            acc.stocks[s["sku"]] = {"count": count, "updatedAt": stamp}
    return JSONResponse(ok())


@router.post("/v2/campaigns/{campaign_id}/offers/stocks")
async def read_stocks(
    request: Request, campaign_id: int, limit: int = 50, page_token: str | None = None
) -> Response:
    opened = await account_and_body(request, campaign=campaign_id)
    if isinstance(opened, Response):
        return opened
    acc, body = opened
    sb: Sandbox = request.app.state.sandbox
    ids = body.get("offerIds")
    if limit > 100 or (ids is not None and len(ids) > 500):
        return ym_error(400, "BAD_REQUEST", "limit ≤ 100 and offerIds ≤ 500")
    wanted = [i for i in (ids or sorted(acc.stocks)) if i in acc.stocks]
    start = read_page_token(page_token)
    if start < 0:
        return ym_error(400, "BAD_REQUEST", "Invalid page_token")
    page = wanted[start : start + limit]
    if (refusal := take_items(sb, acc, api_key(request), "stocks-read", max(1, len(page)))) is not None:
        return refusal
    offers = [
        {
            "offerId": i,
            "updatedAt": acc.stocks[i]["updatedAt"],
            "stocks": [
                {"type": "FIT", "count": acc.stocks[i]["count"]},
                {"type": "AVAILABLE", "count": acc.stocks[i]["count"]},
            ],
        }
        for i in page
    ]
    return JSONResponse(
        ok(
            {
                "warehouses": [{"warehouseId": 1, "offers": offers}],
                "paging": paging(start, limit, len(wanted)),
            }
        )
    )
