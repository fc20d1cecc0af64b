"""Wildberries Content API: card upload/update (validated later, failures in the error list), card list."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from aimanager_sandbox.common.sandbox import Sandbox
from aimanager_sandbox.wildberries.state import content_error, ok_body, request_account

router = APIRouter()


async def _queue_cards(request: Request, update: bool) -> Response:
    acc = request_account(request)
    sb: Sandbox = request.app.state.sandbox
    body = await request.json()
    if not isinstance(body, list) or not body or len(body) > (3000 if update else 100):
        return content_error(400, "Invalid request format: expected an array of 1–100 cards")
    if update:
        items = [{"_update": True, "variants": [v]} for v in body if isinstance(v, dict)]
    else:
        for item in body:
            if not isinstance(item, dict) or "subjectID" not in item or not item.get("variants"):
                return content_error(400, "subjectID and variants are required")
            if any(not isinstance(v, dict) or not v.get("vendorCode") for v in item["variants"]):
                return content_error(400, "vendorCode is required")
        items = body
    with sb.lock:
        acc.pending_cards.append((sb.ready_at(), str(uuid.uuid4()), items))
    return JSONResponse(ok_body(None))


@router.post("/content/v2/cards/upload")
async def cards_upload(request: Request) -> Response:
    return await _queue_cards(request, update=False)


@router.post("/content/v2/cards/update")
async def cards_update(request: Request) -> Response:
    return await _queue_cards(request, update=True)


@router.post("/content/v2/cards/error/list")
async def cards_errors(request: Request) -> dict[str, Any]:
    acc = request_account(request)
    body = await request.json() if await request.body() else {}
    cursor = body.get("cursor") or {}
    limit = int(cursor.get("limit", 100))
    items = sorted(acc.card_errors, key=lambda e: (e["updatedAt"], e["batchUUID"]), reverse=True)
    if cursor.get("batchUUID"):
        key = (cursor["updatedAt"], cursor["batchUUID"])
        items = [e for e in items if (e["updatedAt"], e["batchUUID"]) < key]
    page = items[:limit]
    last = page[-1] if page else {}
    nxt = {
        "next": len(items) > limit,
        "updatedAt": last.get("updatedAt"),
        "batchUUID": last.get("batchUUID"),
    }
    return ok_body({"items": page, "cursor": nxt})


@router.post("/content/v2/get/cards/list")
async def cards_list(request: Request) -> Response:
    acc = request_account(request)
    settings = (await request.json()).get("settings") or {}
    cursor = settings.get("cursor") or {}
    limit = int(cursor.get("limit", 100))
    if limit > 100:
        return content_error(400, "limit must be ≤ 100")
    ascending = bool((settings.get("sort") or {}).get("ascending", False))
    text = (settings.get("filter") or {}).get("textSearch")
    cards = [c for c in acc.cards.values() if not text or text in (c["vendorCode"], str(c["nmID"]))]
    cards.sort(key=lambda c: (c["updatedAt"], c["nmID"]), reverse=not ascending)
    if cursor.get("nmID"):
        key = (cursor["updatedAt"], cursor["nmID"])
        cards = [
            c
            for c in cards
            if ((c["updatedAt"], c["nmID"]) > key) == ascending and (c["updatedAt"], c["nmID"]) != key
        ]
    page = cards[:limit]
    last = page[-1] if page else {}
    return JSONResponse(
        {
            "cards": page,
            "cursor": {"updatedAt": last.get("updatedAt"), "nmID": last.get("nmID"), "total": len(page)},
        }
    )
