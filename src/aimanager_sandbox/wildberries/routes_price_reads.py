"""Wildberries Prices API reads: the goods with their prices, by WB article (``nmID``) or page by page.

``POST /api/v2/list/goods/filter`` takes ``{"nmList": [nmID, …]}`` (1–1,000) and answers the goods it
knows among them (unknown ones are left out, not refused); ``GET /api/v2/list/goods/filter`` pages the
whole catalogue (``limit`` ≤ 1,000, ``offset``, optional ``filterNmID``). Each good carries its sizes
with ``price`` (before discount), ``discountedPrice`` (the selling price: price × (100 − discount) / 100)
and ``clubDiscountedPrice`` (no WB Club discount here: the same). Answers are ``{data, error,
errorText}`` as the published spec says; they share the Prices group's limit (``state.group_of``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from aimanager_sandbox.wildberries.state import WbAccount, prices_body, prices_error, request_account

router = APIRouter()
MAX_ITEMS = 1000


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def good(acc: WbAccount, card: dict[str, Any]) -> dict[str, Any]:
    """One ``listGoods`` item: the card's price and discount in force (0 and 0 when never priced)."""
    price, discount = acc.prices.get(card["nmID"], (0, 0))
    selling = Decimal(price) * (100 - Decimal(discount)) / 100
    return {
        "nmID": card["nmID"],
        "vendorCode": card["vendorCode"],
        "sizes": [
            {
                "sizeID": size["chrtID"],
                "price": price,
                "discountedPrice": _number(selling),
                "clubDiscountedPrice": _number(selling),
                "techSizeName": size.get("techSize", "0"),
            }
            for size in card["sizes"]
        ],
        "currencyIsoCode4217": acc.currency,
        "discount": discount,
        "clubDiscount": 0,
        "editableSizePrice": False,
    }


@router.post("/api/v2/list/goods/filter")
async def goods_by_articles(request: Request) -> Response:
    acc = request_account(request)
    try:
        body = await request.json()
    except ValueError:
        return prices_error(400, "Invalid request body")
    wanted = body.get("nmList") if isinstance(body, dict) else None
    if (
        not isinstance(wanted, list)
        or not 1 <= len(wanted) <= MAX_ITEMS
        or not all(isinstance(n, int) and not isinstance(n, bool) for n in wanted)
    ):
        return prices_error(400, "Invalid nmList: 1–1000 WB articles")
    ids = set(wanted)
    found = [good(acc, c) for c in acc.cards.values() if c["nmID"] in ids]
    return JSONResponse(prices_body({"listGoods": found}))


@router.get("/api/v2/list/goods/filter")
async def goods_page(
    request: Request, limit: int, offset: int = 0, filterNmID: int | None = None
) -> Response:
    if not 1 <= limit <= MAX_ITEMS or offset < 0:
        return prices_error(400, "Invalid limit or offset")
    acc = request_account(request)
    cards = sorted(acc.cards.values(), key=lambda c: c["nmID"])
    if filterNmID is not None:
        cards = [c for c in cards if c["nmID"] == filterNmID]
    return JSONResponse(prices_body({"listGoods": [good(acc, c) for c in cards[offset : offset + limit]]}))
