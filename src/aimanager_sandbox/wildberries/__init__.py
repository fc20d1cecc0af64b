"""Wildberries seller-API sandbox: content cards, prices & discounts, FBS stocks, finance, tariffs.

One app serves the paths of every WB host the connector uses (they do not collide). Behaviour follows
``reference/marketplace-apis.md`` §3: raw ``Authorization`` token; per-account token buckets per
method group with ``X-Ratelimit-*`` headers and 429; a 4xx is billed as 10 requests; card uploads
are validated *later* (title ≤ 60, vendorCode ≤ 72, known subject, unused vendorCode) with failures
in ``/content/v2/cards/error/list``; price uploads get an id that moves buffer → history with per-item
errors (unknown nmID, quarantine when the price falls 3×) and repeat uploads answer
``alreadyExists``; stock PUT answers 204 and silently ignores items with unknown field names.

Python accessors for tests: ``app.state.sandbox.account(token)`` → ``WbAccount``.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from datetime import UTC, date, datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from aimanager.domain.enums import Marketplace
from aimanager_sandbox.marketplaces.common import (
    Hooks,
    Limit,
    Sandbox,
    SandboxConfig,
    install,
)
from aimanager_sandbox.marketplaces.wildberries.state import (
    LIMITS,
    SUBJECTS,
    WAREHOUSES,
    WbAccount,
    content_error,
    generic_error,
    group_of,
    new_account,
    ok_body,
    report_row,
    tick,
)


def create_app(config: SandboxConfig | None = None) -> FastAPI:
    """Build a WB sandbox app (state lives in ``app.state.sandbox``)."""
    sb = Sandbox(config or SandboxConfig(), LIMITS, new_account)
    app = FastAPI(title="Wildberries sandbox")

    def token_of(request: Request) -> str | None:
        token = request.headers.get("authorization")
        return token if sb.is_valid(token) else None

    def rate_limited(retry: float, spec: Limit | None, remaining: float) -> Response:
        headers = {
            "X-Ratelimit-Retry": str(max(1, math.ceil(retry))),
            "X-Ratelimit-Reset": str(max(1, math.ceil(retry))),
            "X-Ratelimit-Limit": str(int(spec.limit)) if spec else "0",
            "X-Ratelimit-Remaining": "0",
        }
        return generic_error(429, "too many requests", "Limited by global limiter", headers)

    install(
        app,
        sb,
        Hooks(
            account_of=token_of,
            group_of=group_of,
            unauthorized=lambda: generic_error(401, "unauthorized", "token is missing, invalid or expired"),
            rate_limited=rate_limited,
            server_error=lambda status: generic_error(status, "internal server error", "sandbox fault"),
            error_cost=10,
            success_headers=lambda spec, remaining: {
                "X-Ratelimit-Remaining": str(max(0, math.floor(remaining)))
            },
        ),
        marketplace=Marketplace.WILDBERRIES,
    )

    def acc_of(request: Request) -> WbAccount:
        acc: WbAccount = sb.account(request.headers["authorization"])
        with sb.lock:
            tick(sb, acc)
        return acc

    # --- content ----------------------------------------------------------------------------------
    async def _queue_cards(request: Request, update: bool) -> Response:
        acc = acc_of(request)
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

    @app.post("/content/v2/cards/upload")
    async def cards_upload(request: Request) -> Response:
        return await _queue_cards(request, update=False)

    @app.post("/content/v2/cards/update")
    async def cards_update(request: Request) -> Response:
        return await _queue_cards(request, update=True)

    @app.post("/content/v2/cards/error/list")
    async def cards_errors(request: Request) -> dict[str, Any]:
        acc = acc_of(request)
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

    @app.post("/content/v2/get/cards/list")
    async def cards_list(request: Request) -> Response:
        acc = acc_of(request)
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

    # --- prices -----------------------------------------------------------------------------------
    @app.post("/api/v2/upload/task")
    async def upload_prices(request: Request) -> Response:
        acc = acc_of(request)
        data = (await request.json()).get("data")
        if not isinstance(data, list) or not 1 <= len(data) <= 1000:
            return content_error(400, "Invalid data: 1–1000 goods per upload")
        for item in data:
            ok_nm = isinstance(item, dict) and isinstance(item.get("nmID"), int)
            price, discount = (item.get("price"), item.get("discount")) if ok_nm else (None, None)
            if not ok_nm or (price is None and discount is None):
                return content_error(400, "Invalid data: nmID and price or discount required")
            if (price is not None and (not isinstance(price, int) or price < 0)) or (
                discount is not None and (not isinstance(discount, int) or not 0 <= discount < 100)
            ):
                return content_error(400, "Invalid data: price and discount must be integers")
        digest = hashlib.sha256(
            json.dumps(sorted(data, key=lambda i: i["nmID"]), sort_keys=True).encode()
        ).hexdigest()
        with sb.lock:
            if digest in acc.upload_hashes:
                return JSONResponse(ok_body({"id": acc.upload_hashes[digest], "alreadyExists": True}))
            acc.next_id += 1
            upload_id = acc.next_id
            acc.upload_hashes[digest] = upload_id
            acc.uploads[upload_id] = {"items": data, "status": 1, "ready_at": sb.ready_at(), "goods": []}
        return JSONResponse(ok_body({"id": upload_id, "alreadyExists": False}))

    def _task_info(upload_id: int, upload: dict[str, Any]) -> dict[str, Any]:
        ok = sum(1 for g in upload["goods"] if not g["errorText"])
        return {
            "uploadID": upload_id,
            "status": upload["status"],
            "uploadDate": datetime.now(UTC).isoformat(),
            "activationDate": datetime.now(UTC).isoformat(),
            "overAllGoodsNumber": len(upload["items"]),
            "successGoodsNumber": ok,
        }

    @app.get("/api/v2/buffer/tasks")
    async def buffer_tasks(request: Request, uploadID: int) -> dict[str, Any]:
        upload = acc_of(request).uploads.get(uploadID)
        return ok_body(_task_info(uploadID, upload) if upload and upload["status"] == 1 else None)

    @app.get("/api/v2/history/tasks")
    async def history_tasks(request: Request, uploadID: int) -> dict[str, Any]:
        upload = acc_of(request).uploads.get(uploadID)
        return ok_body(_task_info(uploadID, upload) if upload and upload["status"] != 1 else None)

    @app.get("/api/v2/history/goods/task")
    async def history_goods(request: Request, uploadID: int, limit: int = 1000, offset: int = 0) -> Response:
        if limit > 1000:
            return content_error(400, "limit must be ≤ 1000")
        upload = acc_of(request).uploads.get(uploadID)
        goods = upload["goods"][offset : offset + limit] if upload else []
        return JSONResponse(ok_body({"uploadID": uploadID, "historyGoods": goods}))

    # --- stocks -----------------------------------------------------------------------------------
    @app.get("/api/v3/warehouses")
    async def warehouses(request: Request) -> list[dict[str, Any]]:
        acc_of(request)
        return [{**w, "officeId": 1, "cargoType": 1, "deliveryType": 1} for w in WAREHOUSES]

    @app.put("/api/v3/stocks/{warehouse_id}")
    async def put_stocks(request: Request, warehouse_id: int) -> Response:
        acc = acc_of(request)
        if warehouse_id not in {w["id"] for w in WAREHOUSES}:
            return generic_error(404, "not found", "warehouse not found")
        stocks = (await request.json()).get("stocks")
        if not isinstance(stocks, list) or not 1 <= len(stocks) <= 1000:
            return generic_error(400, "bad request", "stocks: 1–1000 items")
        known = acc.chrt_ids()
        # Items without both documented keys are ignored without a word, like the real API.
        valid = [s for s in stocks if isinstance(s, dict) and "chrtId" in s and "amount" in s]
        unknown = [s for s in valid if s["chrtId"] not in known or not 0 <= int(s["amount"]) <= 100_000]
        if unknown:
            return generic_error(
                409, "conflict", f"{len(unknown)} stock items refused: unknown chrtId or amount"
            )
        with sb.lock:
            for s in valid:
                acc.stocks[(warehouse_id, s["chrtId"])] = int(s["amount"])
            acc.stock_writes += 1
        return Response(status_code=204)

    @app.post("/api/v3/stocks/{warehouse_id}")
    async def get_stocks(request: Request, warehouse_id: int) -> Response:
        acc = acc_of(request)
        ids = (await request.json()).get("chrtIds")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 1000:
            return generic_error(400, "bad request", "chrtIds: 1–1000 items")
        known = acc.chrt_ids()
        rows = [{"chrtId": i, "amount": acc.stocks.get((warehouse_id, i), 0)} for i in ids if i in known]
        return JSONResponse({"stocks": rows})

    # --- finance and tariffs ----------------------------------------------------------------------
    @app.post("/api/finance/v1/sales-reports/detailed")
    async def detailed(request: Request) -> Response:
        acc = acc_of(request)
        body = await request.json()
        try:
            start, end = date.fromisoformat(body["dateFrom"]), date.fromisoformat(body["dateTo"])
            limit, rrd_id = int(body.get("limit", 100_000)), int(body.get("rrdId", 0))
        except (KeyError, ValueError):
            return generic_error(400, "bad request", "dateFrom and dateTo are required (YYYY-MM-DD)")
        if not 1 <= limit <= 100_000:
            return generic_error(400, "bad request", "limit must be 1–100000")
        rows = [h for h in acc.history if start <= h.day <= end and h.seq > rrd_id][:limit]
        if not rows:
            return Response(status_code=204)
        return JSONResponse([report_row(acc, h) for h in rows])

    @app.get("/api/v1/tariffs/commission")
    async def commission(request: Request, locale: str = "ru") -> dict[str, Any]:
        acc_of(request)
        return {
            "report": [
                {
                    "subjectID": sid,
                    "subjectName": name,
                    "parentID": 1,
                    "parentName": "Одежда",
                    "kgvpMarketplace": float(gen),
                    "kgvpSupplier": float(gen),
                    "paidStorageKgvp": float(gen),
                    "kgvpMarketplaceUz": float(uz),
                    "kgvpPaidStorageUz": float(uz),
                    "kgvpSupplierUz": float(uz),
                }
                for sid, (name, uz, gen) in SUBJECTS.items()
            ]
        }

    return app
