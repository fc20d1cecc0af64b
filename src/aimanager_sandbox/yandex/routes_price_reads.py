"""YM business offer prices, read: ``POST /v2/businesses/{businessId}/offer-prices`` (getDefaultPrices).

The body (optional) names ``offerIds`` (1–200) and/or ``archived``; query ``page_token`` and ``limit``.
The answer lists the offers that have a price set for all stores (offers never priced are left out),
each ``{offerId, price{value, currencyId, discountBase?, updatedAt}}``, with ``paging.nextPageToken``
while more remain. The quota is item-counted (10,000 offers a minute), charged per offer answered.
``updatedAt`` is when the sandbox stamped the price, or — for a price seeded without a stamp — now [I].
"""

from __future__ import annotations

from typing import Any

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
MAX_OFFER_IDS = 200


def _price(sb: Sandbox, stored: dict[str, Any]) -> dict[str, Any]:
    price: dict[str, Any] = {"value": stored["value"], "currencyId": stored["currencyId"]}
    if stored.get("discountBase") is not None:
        price["discountBase"] = stored["discountBase"]
    price["updatedAt"] = stored.get("updatedAt") or sb.utcnow().isoformat()
    return price


@router.post("/v2/businesses/{business_id}/offer-prices")
async def read_prices(
    request: Request, business_id: int, limit: int = 200, page_token: str | None = None
) -> Response:
    opened = await account_and_body(request, business_id)
    if isinstance(opened, Response):
        return opened
    acc, body = opened
    sb: Sandbox = request.app.state.sandbox
    ids = (body or {}).get("offerIds") if isinstance(body, dict) else None
    if limit < 1 or (ids is not None and not (isinstance(ids, list) and 1 <= len(ids) <= MAX_OFFER_IDS)):
        return ym_error(400, "BAD_REQUEST", "limit ≥ 1 and offerIds 1..200")
    start = read_page_token(page_token)
    if start < 0:
        return ym_error(400, "BAD_REQUEST", "Invalid page_token")
    with sb.lock:
        wanted = [i for i in (ids or sorted(acc.prices)) if i in acc.prices]
        page = [(i, dict(acc.prices[i])) for i in wanted[start : start + limit]]
    if (refusal := take_items(sb, acc, api_key(request), "offer-prices-read", max(1, len(page)))) is not None:
        return refusal
    offers = [{"offerId": i, "price": _price(sb, stored)} for i, stored in page]
    return JSONResponse(ok({"offers": offers, "paging": paging(start, limit, len(wanted))}))
