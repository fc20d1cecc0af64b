"""YM business offer prices: item-counted quota, per-offer validation, unknown offers refused."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from aimanager_sandbox.common.sandbox import Sandbox
from aimanager_sandbox.yandex.state import (
    account_and_body,
    api_key,
    ok,
    take_items,
    ym_error,
)

router = APIRouter()


@router.post("/v2/businesses/{business_id}/offer-prices/updates")
async def update_prices(request: Request, business_id: int) -> Response:
    opened = await account_and_body(request, business_id)
    if isinstance(opened, Response):
        return opened
    acc, body = opened
    sb: Sandbox = request.app.state.sandbox
    offers = body.get("offers")
    if not isinstance(offers, list) or not 1 <= len(offers) <= 500:
        return ym_error(400, "BAD_REQUEST", "offers must hold 1..500 items")
    for o in offers:
        price = o.get("price") or {}
        value, base = price.get("value"), price.get("discountBase")
        if not isinstance(value, int | float) or value <= 0 or price.get("currencyId") not in ("UZS", "RUR"):
            return ym_error(
                400, "BAD_REQUEST", f"{o.get('offerId')}: price.value > 0 and currencyId required"
            )
        if base is not None and not 5 <= (base - value) / base * 100 <= 99:
            return ym_error(400, "BAD_REQUEST", f"{o.get('offerId')}: discount must be 5–99%")
    missing = [o["offerId"] for o in offers if o.get("offerId") not in acc.offers]
    if missing:
        # [I] the spec does not say how unknown offers are refused; one error per offer, id last.
        errors = [{"code": "OFFER_NOT_FOUND", "message": f"Offer not found: {m}"} for m in missing]
        return JSONResponse(status_code=400, content={"status": "ERROR", "errors": errors})
    if (refusal := take_items(sb, acc, api_key(request), "offer-prices-update", len(offers))) is not None:
        return refusal
    with sb.lock:
        for o in offers:
            new = {k: o["price"].get(k) for k in ("value", "currencyId", "discountBase")}
            if acc.prices.get(o["offerId"]) != new:
                acc.prices[o["offerId"]] = new
                acc.price_changes += 1
    return JSONResponse(ok())
