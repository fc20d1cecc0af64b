"""YM offer cards: offer-mappings/update (ru/uz, whole-batch rejection) and card checks (offer-cards)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from aimanager_sandbox.common.sandbox import Sandbox
from aimanager_sandbox.yandex import routes_media
from aimanager_sandbox.yandex.state import (
    FORBIDDEN_WORDS,
    REQUIRED_NEW,
    YmAccount,
    account_and_body,
    api_key,
    ok,
    paging,
    read_page_token,
    take_items,
    ym_error,
)

router = APIRouter()


def card_problems(sb: Sandbox, acc: YmAccount, offer: dict[str, Any], language: str) -> list[dict[str, Any]]:
    offer_id = offer.get("offerId")
    if language == "UZ":
        if offer_id not in acc.offers:
            return [{"type": "VALUE_BLANK", "message": "Offer not found: create it in Russian first"}]
        return []
    problems = []
    if offer_id not in acc.offers:
        problems += [
            {"type": "VALUE_BLANK", "message": f"Field {name} is required for a new offer"}
            for name in REQUIRED_NEW
            if not offer.get(name)
        ]
    category = offer.get("marketCategoryId")
    if category is not None and category in sb.config.extra.get("unknown_categories", {404}):
        problems.append({"type": "UNKNOWN_CATEGORY", "message": f"Unknown category {category}"})
    return problems


@router.post("/v2/businesses/{business_id}/offer-mappings/update")
async def update_mappings(request: Request, business_id: int, language: str = "RU") -> Response:
    opened = await account_and_body(request, business_id)
    if isinstance(opened, Response):
        return opened
    acc, body = opened
    sb: Sandbox = request.app.state.sandbox
    if language not in ("RU", "UZ"):
        return ym_error(400, "BAD_REQUEST", "language must be RU or UZ")
    items = body.get("offerMappings")
    if not isinstance(items, list) or not 1 <= len(items) <= 500:
        return ym_error(400, "BAD_REQUEST", "offerMappings must hold 1..500 items")
    for item in items:
        offer = item.get("offer") if isinstance(item, dict) else None
        if not isinstance(offer, dict):
            return ym_error(400, "BAD_REQUEST", "offerMappings[].offer is required")
        oid = offer.get("offerId")
        if not isinstance(oid, str) or not 1 <= len(oid) <= 255 or not oid.isprintable():
            return ym_error(400, "BAD_REQUEST", "offer.offerId must be 1..255 printable characters")
        if len(offer.get("name") or "") > 256 or len(offer.get("description") or "") > 6000:
            return ym_error(400, "BAD_REQUEST", f"{oid}: name ≤ 256 and description ≤ 6000 characters")
        if language == "UZ" and set(offer) - {"offerId", "name", "description"}:
            return ym_error(400, "BAD_REQUEST", "With language=UZ send only offerId, name, description")
    if (refusal := take_items(sb, acc, api_key(request), "offer-mappings-update", len(items))) is not None:
        return refusal
    results = []
    for item in items:
        offer = item["offer"]
        errors = card_problems(sb, acc, offer, language)
        warnings = (
            [{"type": "VALUE_BLANK", "message": "Name longer than 120 characters"}]
            if len(offer.get("name") or "") > 120
            else []
        )
        if errors or warnings:
            results.append({"offerId": offer["offerId"], "errors": errors, "warnings": warnings})
    if any(r["errors"] for r in results):
        return JSONResponse(ok(results=results))  # one error rejects the whole batch
    with sb.lock:
        for item in items:
            offer = item["offer"]
            stored = acc.offers.setdefault(offer["offerId"], {"ru": {}, "uz": {}, "created": False})
            target = stored["uz"] if language == "UZ" else stored["ru"]
            target.update(offer)
            stored["ready_at"] = sb.ready_at()
    routes_media.submitted(request, items)  # pictures download after the answer, as on YM
    return JSONResponse(ok(results=results) if results else ok())


def card_view(sb: Sandbox, offer_id: str, stored: dict[str, Any]) -> dict[str, Any]:
    existed = stored["created"]
    if sb.now() < stored["ready_at"]:
        status = "HAS_CARD_CAN_UPDATE_PROCESSING" if existed else "NO_CARD_PROCESSING"
        return {"offerId": offer_id, "cardStatus": status}
    text = " ".join(str(stored[lang].get(k, "")) for lang in ("ru", "uz") for k in ("name", "description"))
    found = [w for w in FORBIDDEN_WORDS if w in text.lower()]
    if found:
        status = "HAS_CARD_CAN_UPDATE_ERRORS" if existed else "NO_CARD_ERRORS"
        errors = [{"message": "Запрещённое слово в названии или описании", "comment": w} for w in found]
        return {"offerId": offer_id, "cardStatus": status, "errors": errors}
    stored["created"] = True
    return {
        "offerId": offer_id,
        "cardStatus": "HAS_CARD_CAN_UPDATE",
        "mapping": {"marketCategoryId": stored["ru"].get("marketCategoryId")},
    }


@router.post("/v2/businesses/{business_id}/offer-cards")
async def offer_cards(
    request: Request, business_id: int, limit: int = 50, page_token: str | None = None
) -> Response:
    opened = await account_and_body(request, business_id)
    if isinstance(opened, Response):
        return opened
    acc, body = opened
    sb: Sandbox = request.app.state.sandbox
    ids = body.get("offerIds")
    if (ids is not None and len(ids) > 100) or limit > 100:
        return ym_error(400, "BAD_REQUEST", "offerIds ≤ 100 and limit ≤ 100")
    wanted = [i for i in (ids or sorted(acc.offers)) if i in acc.offers]
    start = read_page_token(page_token)
    page = wanted[start : start + limit]
    with sb.lock:
        cards = [card_view(sb, i, acc.offers[i]) for i in page]
    return JSONResponse(ok({"offerCards": cards, "paging": paging(start, limit, len(wanted))}))
