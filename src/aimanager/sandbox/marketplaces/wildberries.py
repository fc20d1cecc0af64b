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
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from aimanager.sandbox.marketplaces.common import (
    HistoryRow,
    Hooks,
    Limit,
    Sandbox,
    SandboxConfig,
    install,
    seeded_history,
)

LIMITS = {
    "content_write": Limit(10, 60, 5),
    "content_read": Limit(100, 60, 5),
    "prices": Limit(10, 6, 5),
    "marketplace": Limit(300, 60, 20),
    "finance": Limit(1, 60, 1),
    "tariffs": Limit(1, 60, 2),
}
# subjectID → (name, FBS commission % for Uzbekistan, generic %)
SUBJECTS = {105: ("Футболки", "23", "25"), 192: ("Смартфоны", "3", "5"), 2330: ("Кружки", "15", "17")}
WAREHOUSES = [{"id": 1001, "name": "Ташкент FBS"}, {"id": 1002, "name": "Самарканд FBS"}]


def _group(method: str, path: str) -> str | None:
    if path.startswith(("/content/v2/cards/upload", "/content/v2/cards/update", "/content/v2/cards/error")):
        return "content_write"
    if path.startswith("/content/"):
        return "content_read"
    if path.startswith(("/api/v2/upload", "/api/v2/history", "/api/v2/buffer", "/api/v2/list")):
        return "prices"
    if path.startswith("/api/v3/"):
        return "marketplace"
    if path.startswith("/api/finance/"):
        return "finance"
    if path.startswith("/api/v1/tariffs"):
        return "tariffs"
    return None


def _generic(status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """WB's generic error body."""
    body = {
        "title": title,
        "detail": detail,
        "code": f"{status}-{title.replace(' ', '-')}",
        "requestId": uuid.uuid4().hex,
        "origin": "sandbox",
        "status": status,
        "statusText": title,
        "timestamp": datetime.now(UTC).isoformat(),
    }
    return JSONResponse(status_code=status, content=body, headers=headers)


def _content_error(status: int, text: str) -> JSONResponse:
    """The ``{data, error, errorText, additionalErrors}`` shape of Content and Prices methods."""
    body = {"data": None, "error": True, "errorText": text, "additionalErrors": None}
    return JSONResponse(status_code=status, content=body)


def _ok(data: Any) -> dict[str, Any]:
    return {"data": data, "error": False, "errorText": "", "additionalErrors": None}


@dataclass
class WbAccount:
    """Everything one seller token owns."""

    cards: dict[str, dict[str, Any]] = field(default_factory=dict)  # vendorCode → card
    pending_cards: list[tuple[float, str, list[dict[str, Any]]]] = field(default_factory=list)
    card_errors: list[dict[str, Any]] = field(default_factory=list)
    prices: dict[int, tuple[int, int]] = field(default_factory=dict)  # nmID → (price, discount)
    price_changes: int = 0
    uploads: dict[int, dict[str, Any]] = field(default_factory=dict)
    upload_hashes: dict[str, int] = field(default_factory=dict)
    stocks: dict[tuple[int, int], int] = field(default_factory=dict)  # (warehouse, chrtID) → amount
    stock_writes: int = 0
    history: list[HistoryRow] = field(default_factory=list)
    next_id: int = 10_000

    def card_by_nm(self, nm_id: int) -> dict[str, Any] | None:
        return next((c for c in self.cards.values() if c["nmID"] == nm_id), None)

    def chrt_ids(self) -> set[int]:
        return {s["chrtID"] for c in self.cards.values() for s in c["sizes"]}

    def stock_of(self, vendor_code: str, warehouse: int = 1001) -> int:
        """Read-back helper for tests."""
        card = self.cards[vendor_code]
        return self.stocks.get((warehouse, card["sizes"][0]["chrtID"]), 0)

    def price_of(self, vendor_code: str) -> tuple[int, int] | None:
        return self.prices.get(self.cards[vendor_code]["nmID"])


def _new_card(acc: WbAccount, subject: int, v: dict[str, Any]) -> dict[str, Any]:
    acc.next_id += 1
    now = datetime.now(UTC).isoformat()
    sizes = v.get("sizes") or [{}]
    return {
        "nmID": acc.next_id * 10,
        "imtID": acc.next_id * 10 + 1,
        "subjectID": subject,
        "subjectName": SUBJECTS[subject][0],
        "vendorCode": v["vendorCode"],
        "brand": v.get("brand", ""),
        "title": v.get("title", ""),
        "description": v.get("description", ""),
        "characteristics": v.get("characteristics", []),
        "dimensions": v.get("dimensions", {}),
        "sizes": [
            {
                "chrtID": acc.next_id * 10 + 2 + i,
                "techSize": s.get("techSize", "0"),
                "skus": s.get("skus", []),
            }
            for i, s in enumerate(sizes)
        ],
        "createdAt": now,
        "updatedAt": now,
    }


def _new_account(sb: Sandbox, token: str) -> WbAccount:
    acc = WbAccount()
    offers = []
    for i in range(1, sb.config.history_offers + 1):
        code = f"SEED-{i:03d}"
        card = _new_card(acc, 105, {"vendorCode": code, "title": f"Футболка {i}", "sizes": [{}]})
        acc.cards[code] = card
        acc.prices[card["nmID"]] = (1000 + 50 * i, 10)
        acc.stocks[(1001, card["sizes"][0]["chrtID"])] = 10
        offers.append((code, Decimal(1000 + 50 * i)))
    c = sb.config
    acc.history = seeded_history(
        sb.history_rng(token),
        offers,
        end=c.history_end,
        days=c.history_days,
        per_day=c.history_orders_per_day,
        commission_pct=Decimal(SUBJECTS[105][1]),
        logistics=Decimal("45"),
    )
    return acc


def _card_problems(acc: WbAccount, subject: Any, v: dict[str, Any]) -> list[str]:
    problems = []
    if subject not in SUBJECTS:
        problems.append(f"Неизвестный предмет {subject}")
    if len(v.get("title") or "") > 60:
        problems.append("Наименование товара не должно превышать 60 символов")
    if len(v.get("vendorCode") or "") > 72:
        problems.append("Артикул продавца не должен превышать 72 символа")
    if v.get("vendorCode") in acc.cards:
        problems.append("Артикул продавца уже используется")
    if len(v.get("description") or "") > 5000:
        problems.append("Описание не должно превышать 5000 символов")
    return problems


def _tick(sb: Sandbox, acc: WbAccount) -> None:
    """Finish every async job whose time has come."""
    now = sb.now()
    due = [p for p in acc.pending_cards if p[0] <= now]
    acc.pending_cards = [p for p in acc.pending_cards if p[0] > now]
    for _, batch_uuid, items in due:
        errors: dict[str, list[str]] = {}
        for item in items:
            subject: Any = item.get("subjectID")
            for v in item.get("variants") or []:
                if item.get("_update"):
                    card = acc.card_by_nm(v.get("nmID", -1))
                    if card is None:
                        errors[v.get("vendorCode", "?")] = ["Карточка не найдена"]
                    elif len(v.get("title") or "") > 60:
                        errors[v["vendorCode"]] = ["Наименование товара не должно превышать 60 символов"]
                    else:
                        card.update(
                            {k: v[k] for k in ("title", "description", "brand", "characteristics") if k in v}
                        )
                        card["updatedAt"] = datetime.now(UTC).isoformat()
                    continue
                problems = _card_problems(acc, subject, v)
                if problems:
                    errors[v.get("vendorCode", "?")] = problems
                else:
                    acc.cards[v["vendorCode"]] = _new_card(acc, subject, v)
        if errors:
            acc.card_errors.append(
                {
                    "batchUUID": batch_uuid,
                    "subjects": sorted({i.get("subjectID") for i in items}, key=str),
                    "vendorCodes": sorted(errors),
                    "errors": errors,
                    "updatedAt": datetime.now(UTC).isoformat(),
                }
            )
    for upload in acc.uploads.values():
        if upload["status"] == 1 and upload["ready_at"] <= now:
            _apply_prices(acc, upload)


def _apply_prices(acc: WbAccount, upload: dict[str, Any]) -> None:
    goods = []
    for item in upload["items"]:
        card = acc.card_by_nm(item["nmID"])
        error = ""
        if card is None:
            error = "nmID not found"
        else:
            new = (item["price"], item.get("discount", 0))
            old = acc.prices.get(item["nmID"])
            if old and new[0] * (100 - new[1]) * 3 <= old[0] * (100 - old[1]):
                error = "The new price is in quarantine: it is 3 or more times lower than the previous one"
            elif old != new:
                acc.prices[item["nmID"]] = new
                acc.price_changes += 1
        goods.append(
            {
                "nmID": item["nmID"],
                "vendorCode": card["vendorCode"] if card else "",
                "sizeID": 0,
                "techSizeName": "0",
                "price": item["price"],
                "currencyIsoCode4217": "UZS",
                "discount": item.get("discount", 0),
                "clubDiscount": 0,
                "status": 3 if error else 2,
                "errorText": error,
            }
        )
    bad = sum(1 for g in goods if g["errorText"])
    upload["goods"] = goods
    upload["status"] = 3 if not bad else 6 if bad == len(goods) else 5


def create_app(config: SandboxConfig | None = None) -> FastAPI:
    """Build a WB sandbox app (state lives in ``app.state.sandbox``)."""
    sb = Sandbox(config or SandboxConfig(), LIMITS, _new_account)
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
        return _generic(429, "too many requests", "Limited by global limiter", headers)

    install(
        app,
        sb,
        Hooks(
            account_of=token_of,
            group_of=_group,
            unauthorized=lambda: _generic(401, "unauthorized", "token is missing, invalid or expired"),
            rate_limited=rate_limited,
            server_error=lambda status: _generic(status, "internal server error", "sandbox fault"),
            error_cost=10,
            success_headers=lambda spec, remaining: {
                "X-Ratelimit-Remaining": str(max(0, math.floor(remaining)))
            },
        ),
    )

    def acc_of(request: Request) -> WbAccount:
        acc: WbAccount = sb.account(request.headers["authorization"])
        with sb.lock:
            _tick(sb, acc)
        return acc

    # --- content ----------------------------------------------------------------------------------
    async def _queue_cards(request: Request, update: bool) -> Response:
        acc = acc_of(request)
        body = await request.json()
        if not isinstance(body, list) or not body or len(body) > (3000 if update else 100):
            return _content_error(400, "Invalid request format: expected an array of 1–100 cards")
        if update:
            items = [{"_update": True, "variants": [v]} for v in body if isinstance(v, dict)]
        else:
            for item in body:
                if not isinstance(item, dict) or "subjectID" not in item or not item.get("variants"):
                    return _content_error(400, "subjectID and variants are required")
                if any(not isinstance(v, dict) or not v.get("vendorCode") for v in item["variants"]):
                    return _content_error(400, "vendorCode is required")
            items = body
        with sb.lock:
            acc.pending_cards.append((sb.ready_at(), str(uuid.uuid4()), items))
        return JSONResponse(_ok(None))

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
        return _ok({"items": page, "cursor": nxt})

    @app.post("/content/v2/get/cards/list")
    async def cards_list(request: Request) -> Response:
        acc = acc_of(request)
        settings = (await request.json()).get("settings") or {}
        cursor = settings.get("cursor") or {}
        limit = int(cursor.get("limit", 100))
        if limit > 100:
            return _content_error(400, "limit must be ≤ 100")
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
            return _content_error(400, "Invalid data: 1–1000 goods per upload")
        for item in data:
            ok_nm = isinstance(item, dict) and isinstance(item.get("nmID"), int)
            price, discount = (item.get("price"), item.get("discount")) if ok_nm else (None, None)
            if not ok_nm or (price is None and discount is None):
                return _content_error(400, "Invalid data: nmID and price or discount required")
            if (price is not None and (not isinstance(price, int) or price < 0)) or (
                discount is not None and (not isinstance(discount, int) or not 0 <= discount < 100)
            ):
                return _content_error(400, "Invalid data: price and discount must be integers")
        digest = hashlib.sha256(
            json.dumps(sorted(data, key=lambda i: i["nmID"]), sort_keys=True).encode()
        ).hexdigest()
        with sb.lock:
            if digest in acc.upload_hashes:
                return JSONResponse(_ok({"id": acc.upload_hashes[digest], "alreadyExists": True}))
            acc.next_id += 1
            upload_id = acc.next_id
            acc.upload_hashes[digest] = upload_id
            acc.uploads[upload_id] = {"items": data, "status": 1, "ready_at": sb.ready_at(), "goods": []}
        return JSONResponse(_ok({"id": upload_id, "alreadyExists": False}))

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
        return _ok(_task_info(uploadID, upload) if upload and upload["status"] == 1 else None)

    @app.get("/api/v2/history/tasks")
    async def history_tasks(request: Request, uploadID: int) -> dict[str, Any]:
        upload = acc_of(request).uploads.get(uploadID)
        return _ok(_task_info(uploadID, upload) if upload and upload["status"] != 1 else None)

    @app.get("/api/v2/history/goods/task")
    async def history_goods(request: Request, uploadID: int, limit: int = 1000, offset: int = 0) -> Response:
        if limit > 1000:
            return _content_error(400, "limit must be ≤ 1000")
        upload = acc_of(request).uploads.get(uploadID)
        goods = upload["goods"][offset : offset + limit] if upload else []
        return JSONResponse(_ok({"uploadID": uploadID, "historyGoods": goods}))

    # --- stocks -----------------------------------------------------------------------------------
    @app.get("/api/v3/warehouses")
    async def warehouses(request: Request) -> list[dict[str, Any]]:
        acc_of(request)
        return [{**w, "officeId": 1, "cargoType": 1, "deliveryType": 1} for w in WAREHOUSES]

    @app.put("/api/v3/stocks/{warehouse_id}")
    async def put_stocks(request: Request, warehouse_id: int) -> Response:
        acc = acc_of(request)
        if warehouse_id not in {w["id"] for w in WAREHOUSES}:
            return _generic(404, "not found", "warehouse not found")
        stocks = (await request.json()).get("stocks")
        if not isinstance(stocks, list) or not 1 <= len(stocks) <= 1000:
            return _generic(400, "bad request", "stocks: 1–1000 items")
        known = acc.chrt_ids()
        # Items without both documented keys are ignored without a word, like the real API.
        valid = [s for s in stocks if isinstance(s, dict) and "chrtId" in s and "amount" in s]
        unknown = [s for s in valid if s["chrtId"] not in known or not 0 <= int(s["amount"]) <= 100_000]
        if unknown:
            return _generic(409, "conflict", f"{len(unknown)} stock items refused: unknown chrtId or amount")
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
            return _generic(400, "bad request", "chrtIds: 1–1000 items")
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
            return _generic(400, "bad request", "dateFrom and dateTo are required (YYYY-MM-DD)")
        if not 1 <= limit <= 100_000:
            return _generic(400, "bad request", "limit must be 1–100000")
        rows = [h for h in acc.history if start <= h.day <= end and h.seq > rrd_id][:limit]
        if not rows:
            return Response(status_code=204)
        return JSONResponse([_report_row(acc, h) for h in rows])

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


def _report_row(acc: WbAccount, h: HistoryRow) -> dict[str, Any]:
    card = acc.cards.get(h.offer_id)
    revenue = h.unit_price * h.quantity
    return {
        "rrdId": h.seq,
        "saleDt": datetime.combine(h.day, time(12, 0), tzinfo=UTC).isoformat(),
        "supplierArticle": h.offer_id,
        "nmId": card["nmID"] if card else 0,
        "docTypeName": "Возврат" if h.returned else "Продажа",
        "quantity": h.quantity,
        "retailPrice": float(h.unit_price),
        "retailPriceWithDisc": float(h.unit_price),
        "commissionPercent": float(h.commission_pct),
        "ppvzSalesCommission": float((revenue * h.commission_pct / 100).quantize(Decimal("0.01"))),
        "forPay": float(revenue * (100 - h.commission_pct) / 100),
        "deliveryService": float(h.logistics * h.quantity),
        "currency": "UZS",
        "srid": f"sr-{h.seq}",
    }
