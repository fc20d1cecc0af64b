"""Yandex Market Partner API sandbox (Market Yandex Go flavour), on ``common``'s machinery.

Speaks what ``connectors.yandex`` uses: offer-mappings/update (ru/uz, whole-batch rejection), offer-cards
(card checks finishing after ``task_delay``), business offer prices, campaign stocks (write + paged read),
business orders (page tokens, 30-day window) and reports (generate → info → JSON file that expires after
60 minutes). ``Api-Key`` auth (a ``Bearer`` prefix is refused), ``{status, result}`` envelopes, and the
limits: request- and item-counted quotas answered **420** with ``X-RateLimit-Resource-*`` headers, and
at most **2 parallel requests per login** (the sandbox records the highest concurrency it saw).

Sandbox rules that the real API does not document (marked [I] in the docs): a report over more than
92 days fails with ``TOO_LARGE``; descriptions with a forbidden word fail the card check; category 404 is
unknown. ``X-RateLimit-Resource-Until`` is written in *marketplace* time (now + wait in marketplace
seconds), so a scaled client waits the scaled amount.
"""

from __future__ import annotations

import base64
import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from aimanager.domain.enums import Marketplace
from aimanager_sandbox.marketplaces.common import (
    Hooks,
    Limit,
    RequestRecord,
    Sandbox,
    SandboxConfig,
    install,
    seeded_history,
)

LIMITS: dict[str, Limit] = {
    "offer-mappings-update": Limit(5000, 60, 5000),  # items
    "offer-prices-update": Limit(10000, 60, 10000),  # items
    "stocks-update": Limit(100000, 60, 100000),  # items
    "stocks-read": Limit(100000, 60, 100000),  # items
    "offer-cards-read": Limit(100, 60, 100),
    "orders-read": Limit(10000, 3600, 10000),
    "reports-info": Limit(100, 60, 100),
    **{
        f"report:{k}": Limit(1, 120, 1)
        for k in ("united-orders", "united-netting", "united-marketplace-services", "stocks-on-warehouses")
    },
}
ITEM_GROUPS = {"offer-mappings-update", "offer-prices-update", "stocks-update", "stocks-read"}
MAX_PARALLEL = 2
CURRENCIES = ("UZS", "RUR", "BYN", "KZT", "USD", "EUR")
MAX_BODY = 512 * 1024
FORBIDDEN_WORDS = ("скидка", "распродажа", "дешевый", "подарок", "бесплатно", "акция", "хит", "новинка")
REQUIRED_NEW = ("name", "marketCategoryId", "pictures", "vendor", "description")
FILE_TTL = 3600.0  # report links live 60 minutes


@dataclass
class YmAccount:
    """State of one Api-Key (one login): its business, campaign and everything pushed to it."""

    business_id: int
    campaign_id: int
    offers: dict[str, dict[str, Any]] = field(default_factory=dict)
    prices: dict[str, dict[str, Any]] = field(default_factory=dict)
    price_changes: int = 0
    stocks: dict[str, dict[str, Any]] = field(default_factory=dict)
    stock_changes: int = 0
    orders: list[dict[str, Any]] = field(default_factory=list)
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)
    inflight: int = 0
    max_inflight: int = 0
    parallel_rejections: int = 0
    item_rejections: int = 0


def _new_account(sb: Sandbox, token: str) -> YmAccount:
    rng = sb.history_rng(token)
    extra = sb.config.extra
    fixed = extra.get("accounts", {}).get(token)
    if fixed is None and "business_id" in extra:
        fixed = (int(extra["business_id"]), int(extra["campaign_id"]))
    business, campaign = fixed or (rng.randint(10_000, 99_999), rng.randint(100_000, 999_999))
    acc = YmAccount(business_id=business, campaign_id=campaign)
    cfg = sb.config
    offers = [(f"YM-{i:03d}", Decimal(rng.randint(50, 900) * 1000)) for i in range(cfg.history_offers)]
    history = seeded_history(
        rng, offers, end=cfg.history_end, days=cfg.history_days, per_day=cfg.history_orders_per_day
    )
    for offer_id, price in offers:  # the seeded offers exist in the catalogue as finished cards
        acc.offers[offer_id] = {
            "ru": {
                "offerId": offer_id,
                "name": f"Товар {offer_id}",
                "marketCategoryId": 91491,
                "description": "Описание",
                "vendor": "Sandbox",
                "pictures": ["https://img.example/1.jpg"],
            },
            "uz": {},
            "created": True,
            "ready_at": 0.0,
        }
        acc.prices[offer_id] = {"value": int(price), "currencyId": "UZS", "discountBase": None}
    for h in history:
        created = datetime.combine(h.day, time(9 + h.seq % 12), tzinfo=UTC)
        acc.orders.append(
            {
                "orderId": 70_000_000 + h.seq,
                "campaignId": campaign,
                "programType": "FBS",
                "status": "RETURNED" if h.returned else "DELIVERED",
                "substatus": "DELIVERY_SERVICE_DELIVERED",
                "creationDate": created.isoformat(),
                "paymentType": "PREPAID",
                "paymentMethod": "YANDEX",
                "fake": False,
                "delivery": {"type": "DELIVERY"},
                "items": [
                    {
                        "id": h.seq,
                        "offerId": h.offer_id,
                        "offerName": f"Товар {h.offer_id}",
                        "count": h.quantity,
                        "prices": {"payment": {"value": int(h.unit_price), "currencyId": "UZS"}},
                    }
                ],
                "_fee": int(h.unit_price * h.quantity * h.commission_pct / 100),
                "_delivery": int(h.logistics),
            }
        )
    return acc


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={"status": "ERROR", "errors": [{"code": code, "message": message}]},
        headers=headers,
    )


def _ok(result: Any = None, **top: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"status": "OK", **top}
    if result is not None:
        body["result"] = result
    return body


def _group(method: str, path: str) -> str | None:
    """Request-counted groups; item-counted ones are charged by the handlers (they know the count)."""
    if path.endswith("/offer-cards"):
        return "offer-cards-read"
    if path.endswith("/orders") and path.startswith("/v1/businesses/"):
        return "orders-read"
    if path.startswith("/v2/reports/info/"):
        return "reports-info"
    if path.startswith("/v2/reports/") and path.endswith("/generate"):
        return "report:" + path.split("/")[3]
    return None


def _token(value: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": value}).encode()).decode()


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["o"])
    except (ValueError, KeyError, TypeError):
        return -1


def create_app(config: SandboxConfig | None = None) -> FastAPI:
    """Build a YM sandbox app (state in ``app.state.sandbox``; accounts are ``YmAccount``)."""
    sb = Sandbox(config or SandboxConfig(), LIMITS, _new_account)
    app = FastAPI(title="Yandex Market Partner API sandbox")

    def token_of(request: Request) -> str | None:
        token = request.headers.get("api-key")
        if token is None or token.lower().startswith("bearer ") or not sb.is_valid(token):
            return None
        return token

    def limit_headers(spec: Limit | None, remaining: float, wait: float) -> dict[str, str]:
        until = datetime.now(UTC) + timedelta(seconds=math.ceil(max(wait, 1.0)) + 1)
        return {
            "X-RateLimit-Resource-Limit": str(int(spec.limit)) if spec else "0",
            "X-RateLimit-Resource-Remaining": str(max(0, int(remaining))),
            "X-RateLimit-Resource-Until": format_datetime(until, usegmt=True),
        }

    def rate_limited(retry: float, spec: Limit | None, remaining: float) -> Response:
        return _error(420, "LIMIT_EXCEEDED", "Too many requests", limit_headers(spec, remaining, retry))

    install(
        app,
        sb,
        Hooks(
            account_of=token_of,
            group_of=_group,
            unauthorized=lambda: _error(401, "UNAUTHORIZED", "Api-Key is missing or invalid"),
            rate_limited=rate_limited,
            server_error=lambda status: _error(status, "INTERNAL_ERROR", "Internal server error"),
            success_headers=lambda spec, remaining: limit_headers(spec, remaining, spec.period),
        ),
        marketplace=Marketplace.YANDEX,
    )

    @app.middleware("http")
    async def parallel_gate(request: Request, call_next: Any) -> Response:
        # Outermost layer: the login's concurrency is counted before auth, limits and faults.
        token = request.headers.get("api-key")
        if request.url.path.startswith(("/_sandbox",)) or not sb.is_valid(token):
            return await call_next(request)  # type: ignore[no-any-return]
        acc: YmAccount = sb.account(token)  # type: ignore[arg-type]
        with sb.lock:
            acc.inflight += 1
            acc.max_inflight = max(acc.max_inflight, acc.inflight)
            over = acc.inflight > MAX_PARALLEL
            if over:
                acc.parallel_rejections += 1
                sb.requests.append(
                    RequestRecord(sb.now(), token, request.method, request.url.path, None, 420, True, False)
                )
        try:
            if over:
                return _error(420, "LIMIT_EXCEEDED", f"Hit rate limit of {MAX_PARALLEL} parallel requests")
            return await call_next(request)  # type: ignore[no-any-return]
        finally:
            with sb.lock:
                acc.inflight -= 1

    async def body_of(request: Request) -> tuple[Any, Response | None]:
        raw = await request.body()
        if len(raw) > MAX_BODY:
            return None, _error(400, "BAD_REQUEST", "Request body is larger than 512 KB")
        try:
            return json.loads(raw or b"{}"), None
        except ValueError:
            return None, _error(400, "BAD_REQUEST", "Malformed JSON")

    def key(request: Request) -> str:
        return request.headers["api-key"]

    def account(request: Request) -> YmAccount:
        acc: YmAccount = sb.account(request.headers["api-key"])
        return acc

    def denied(acc: YmAccount, business: int | None = None, campaign: int | None = None) -> Response | None:
        if (business is not None and business != acc.business_id) or (
            campaign is not None and campaign != acc.campaign_id
        ):
            return _error(403, "FORBIDDEN", "Access denied to this business or campaign")
        return None

    def take_items(acc: YmAccount, token: str, group: str, count: int) -> Response | None:
        if not sb.config.enforce_limits:
            return None
        with sb.lock:
            ok, remaining, retry, _ = sb.limiter.take(token, (group,), float(count))
            if not ok:
                acc.item_rejections += 1
        if ok:
            return None
        return _error(
            420,
            "LIMIT_EXCEEDED",
            "Too many offers per minute",
            limit_headers(LIMITS[group], remaining, retry),
        )

    # --- cards -------------------------------------------------------------------------------------
    def card_problems(acc: YmAccount, offer: dict[str, Any], language: str) -> list[dict[str, Any]]:
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

    @app.post("/v2/businesses/{business_id}/offer-mappings/update")
    async def update_mappings(request: Request, business_id: int, language: str = "RU") -> Response:
        acc = account(request)
        if (refusal := denied(acc, business_id)) is not None:
            return refusal
        body, refusal = await body_of(request)
        if refusal is not None:
            return refusal
        if language not in ("RU", "UZ"):
            return _error(400, "BAD_REQUEST", "language must be RU or UZ")
        items = body.get("offerMappings")
        if not isinstance(items, list) or not 1 <= len(items) <= 500:
            return _error(400, "BAD_REQUEST", "offerMappings must hold 1..500 items")
        for item in items:
            offer = item.get("offer") if isinstance(item, dict) else None
            if not isinstance(offer, dict):
                return _error(400, "BAD_REQUEST", "offerMappings[].offer is required")
            oid = offer.get("offerId")
            if not isinstance(oid, str) or not 1 <= len(oid) <= 255 or not oid.isprintable():
                return _error(400, "BAD_REQUEST", "offer.offerId must be 1..255 printable characters")
            if len(offer.get("name") or "") > 256 or len(offer.get("description") or "") > 6000:
                return _error(400, "BAD_REQUEST", f"{oid}: name ≤ 256 and description ≤ 6000 characters")
            if language == "UZ" and set(offer) - {"offerId", "name", "description"}:
                return _error(400, "BAD_REQUEST", "With language=UZ send only offerId, name, description")
        if (refusal := take_items(acc, key(request), "offer-mappings-update", len(items))) is not None:
            return refusal
        results = []
        for item in items:
            offer = item["offer"]
            errors = card_problems(acc, offer, language)
            warnings = (
                [{"type": "VALUE_BLANK", "message": "Name longer than 120 characters"}]
                if len(offer.get("name") or "") > 120
                else []
            )
            if errors or warnings:
                results.append({"offerId": offer["offerId"], "errors": errors, "warnings": warnings})
        if any(r["errors"] for r in results):
            return JSONResponse(_ok(results=results))  # one error rejects the whole batch
        with sb.lock:
            for item in items:
                offer = item["offer"]
                stored = acc.offers.setdefault(offer["offerId"], {"ru": {}, "uz": {}, "created": False})
                target = stored["uz"] if language == "UZ" else stored["ru"]
                target.update(offer)
                stored["ready_at"] = sb.ready_at()
        return JSONResponse(_ok(results=results) if results else _ok())

    def card_view(offer_id: str, stored: dict[str, Any]) -> dict[str, Any]:
        existed = stored["created"]
        if sb.now() < stored["ready_at"]:
            status = "HAS_CARD_CAN_UPDATE_PROCESSING" if existed else "NO_CARD_PROCESSING"
            return {"offerId": offer_id, "cardStatus": status}
        text = " ".join(
            str(stored[lang].get(k, "")) for lang in ("ru", "uz") for k in ("name", "description")
        )
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

    @app.post("/v2/businesses/{business_id}/offer-cards")
    async def offer_cards(
        request: Request, business_id: int, limit: int = 50, page_token: str | None = None
    ) -> Response:
        acc = account(request)
        if (refusal := denied(acc, business_id)) is not None:
            return refusal
        body, refusal = await body_of(request)
        if refusal is not None:
            return refusal
        ids = body.get("offerIds")
        if (ids is not None and len(ids) > 100) or limit > 100:
            return _error(400, "BAD_REQUEST", "offerIds ≤ 100 and limit ≤ 100")
        wanted = [i for i in (ids or sorted(acc.offers)) if i in acc.offers]
        start = _offset(page_token)
        page = wanted[start : start + limit]
        nxt = _token(start + limit) if start + limit < len(wanted) else None
        with sb.lock:
            cards = [card_view(i, acc.offers[i]) for i in page]
        return JSONResponse(_ok({"offerCards": cards, "paging": {"nextPageToken": nxt} if nxt else {}}))

    # --- prices and stocks -------------------------------------------------------------------------
    @app.post("/v2/businesses/{business_id}/offer-prices/updates")
    async def update_prices(request: Request, business_id: int) -> Response:
        acc = account(request)
        if (refusal := denied(acc, business_id)) is not None:
            return refusal
        body, refusal = await body_of(request)
        if refusal is not None:
            return refusal
        offers = body.get("offers")
        if not isinstance(offers, list) or not 1 <= len(offers) <= 500:
            return _error(400, "BAD_REQUEST", "offers must hold 1..500 items")
        for o in offers:
            price = o.get("price") or {}
            value, base = price.get("value"), price.get("discountBase")
            if (
                not isinstance(value, int | float)
                or value <= 0
                or price.get("currencyId") not in ("UZS", "RUR")
            ):
                return _error(
                    400, "BAD_REQUEST", f"{o.get('offerId')}: price.value > 0 and currencyId required"
                )
            if base is not None and not 5 <= (base - value) / base * 100 <= 99:
                return _error(400, "BAD_REQUEST", f"{o.get('offerId')}: discount must be 5–99%")
        missing = [o["offerId"] for o in offers if o.get("offerId") not in acc.offers]
        if missing:
            # [I] the spec does not say how unknown offers are refused; one error per offer, id last.
            errors = [{"code": "OFFER_NOT_FOUND", "message": f"Offer not found: {m}"} for m in missing]
            return JSONResponse(status_code=400, content={"status": "ERROR", "errors": errors})
        if (refusal := take_items(acc, key(request), "offer-prices-update", len(offers))) is not None:
            return refusal
        with sb.lock:
            for o in offers:
                new = {k: o["price"].get(k) for k in ("value", "currencyId", "discountBase")}
                if acc.prices.get(o["offerId"]) != new:
                    acc.prices[o["offerId"]] = new
                    acc.price_changes += 1
        return JSONResponse(_ok())

    @app.put("/v2/campaigns/{campaign_id}/offers/stocks")
    async def update_stocks(request: Request, campaign_id: int) -> Response:
        acc = account(request)
        if (refusal := denied(acc, campaign=campaign_id)) is not None:
            return refusal
        body, refusal = await body_of(request)
        if refusal is not None:
            return refusal
        skus = body.get("skus")
        if not isinstance(skus, list) or not 1 <= len(skus) <= 2000:
            return _error(400, "BAD_REQUEST", "skus must hold 1..2000 items")
        for s in skus:
            items = s.get("items")
            if (
                not isinstance(items, list)
                or len(items) != 1
                or not 0 <= items[0].get("count", -1) <= 2_000_000_000
            ):
                return _error(400, "BAD_REQUEST", f"{s.get('sku')}: exactly one item with 0 ≤ count ≤ 2·10⁹")
        if (refusal := take_items(acc, key(request), "stocks-update", len(skus))) is not None:
            return refusal
        with sb.lock:
            for s in skus:
                count = s["items"][0]["count"]
                if acc.stocks.get(s["sku"], {}).get("count") != count:
                    acc.stock_changes += 1
                acc.stocks[s["sku"]] = {"count": count, "updatedAt": s["items"][0].get("updatedAt")}
        return JSONResponse(_ok())

    @app.post("/v2/campaigns/{campaign_id}/offers/stocks")
    async def read_stocks(
        request: Request, campaign_id: int, limit: int = 50, page_token: str | None = None
    ) -> Response:
        acc = account(request)
        if (refusal := denied(acc, campaign=campaign_id)) is not None:
            return refusal
        body, refusal = await body_of(request)
        if refusal is not None:
            return refusal
        ids = body.get("offerIds")
        if limit > 100 or (ids is not None and len(ids) > 500):
            return _error(400, "BAD_REQUEST", "limit ≤ 100 and offerIds ≤ 500")
        wanted = [i for i in (ids or sorted(acc.stocks)) if i in acc.stocks]
        start = _offset(page_token)
        if start < 0:
            return _error(400, "BAD_REQUEST", "Invalid page_token")
        page = wanted[start : start + limit]
        if (refusal := take_items(acc, key(request), "stocks-read", max(1, len(page)))) is not None:
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
        nxt = _token(start + limit) if start + limit < len(wanted) else None
        return JSONResponse(
            _ok(
                {
                    "warehouses": [{"warehouseId": 1, "offers": offers}],
                    "paging": {"nextPageToken": nxt} if nxt else {},
                }
            )
        )

    # --- orders and reports ------------------------------------------------------------------------
    @app.post("/v1/businesses/{business_id}/orders")
    async def orders(
        request: Request,
        business_id: int,
        limit: int = 50,
        pageToken: str | None = None,
        page_token: str | None = None,
    ) -> Response:
        acc = account(request)
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
            return _error(400, "BAD_REQUEST", "dates.creationDateFrom and creationDateTo are required")
        if limit > 50 or end < start or (end - start).days > 30:
            return _error(400, "BAD_REQUEST", "limit ≤ 50 and a date window of at most 30 days")
        campaigns = body.get("campaignIds")
        rows = [
            o
            for o in acc.orders
            if start <= date.fromisoformat(o["creationDate"][:10]) <= end
            and (not campaigns or o["campaignId"] in campaigns)
        ]
        offset = _offset(pageToken or page_token)
        if offset < 0:
            return _error(400, "BAD_REQUEST", "Invalid page token")
        page = [{k: v for k, v in o.items() if not k.startswith("_")} for o in rows[offset : offset + limit]]
        nxt = _token(offset + limit) if offset + limit < len(rows) else None
        return JSONResponse({"orders": page, "paging": {"nextPageToken": nxt} if nxt else {}})

    @app.post("/v2/reports/{kind}/generate")
    async def generate(request: Request, kind: str, format: str = "FILE") -> Response:
        acc = account(request)
        body, refusal = await body_of(request)
        if refusal is not None:
            return refusal
        if f"report:{kind}" not in LIMITS:
            return _error(404, "NOT_FOUND", f"Unknown report {kind}")
        if (refusal := denied(acc, body.get("businessId"))) is not None:
            return refusal
        try:
            start, end = date.fromisoformat(body["dateFrom"]), date.fromisoformat(body["dateTo"])
        except (KeyError, TypeError, ValueError):
            return _error(400, "BAD_REQUEST", "businessId, dateFrom and dateTo are required")
        if end < start or (end - start).days > 366:
            return _error(400, "BAD_REQUEST", "The period must be at most one year")
        report_id = uuid.uuid4().hex
        delay = sb.config.task_delay
        with sb.lock:
            acc.reports[report_id] = {
                "kind": kind,
                "from": start,
                "to": end,
                "requested": sb.utcnow(),
                "started": sb.now(),
                "ready_at": sb.ready_at(delay),
            }
        return JSONResponse(_ok({"reportId": report_id, "estimatedGenerationTime": int(delay * 1000)}))

    @app.get("/v2/reports/info/{report_id}")
    async def report_info(request: Request, report_id: str) -> Response:
        acc = account(request)
        report = acc.reports.get(report_id)
        if report is None:
            return _error(404, "NOT_FOUND", "Report not found")
        info: dict[str, Any] = {
            "generationRequestedAt": report["requested"].isoformat(),
            "estimatedGenerationTime": int(sb.config.task_delay * 1000),
        }
        now = sb.now()
        if now < report["started"] + sb.config.task_delay / 3:
            info["status"] = "PENDING"
        elif now < report["ready_at"]:
            info["status"] = "PROCESSING"
        else:
            info["generationFinishedAt"] = sb.utcnow().isoformat()
            if (report["to"] - report["from"]).days > 92:
                info.update(status="FAILED", subStatus="TOO_LARGE")
            else:
                rows = report_rows(acc, report)
                info["status"] = "DONE"
                if not rows:
                    info["subStatus"] = "NO_DATA"
                info["file"] = str(request.base_url).rstrip("/") + f"/_sandbox/files/reports/{report_id}.json"
        return JSONResponse(_ok(info))

    def report_rows(acc: YmAccount, report: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for o in acc.orders:
            if report["from"] <= date.fromisoformat(o["creationDate"][:10]) <= report["to"]:
                item = o["items"][0]
                out.append(
                    {
                        "orderId": o["orderId"],
                        "creationDate": o["creationDate"],
                        "status": o["status"],
                        "offerId": item["offerId"],
                        "count": item["count"],
                        "billingPrice": item["prices"]["payment"]["value"],
                        "marketplaceFee": o["_fee"],
                        "delivery": o["_delivery"],
                        "currency": "UZS",
                    }
                )
        return out

    @app.get("/_sandbox/files/reports/{name}")
    async def report_file(request: Request, name: str) -> Response:
        # A storage link: no Api-Key; it must not carry one (the sandbox records if it does).
        report_id = name.removesuffix(".json")
        for acc in list(sb._accounts.values()):
            report = acc.reports.get(report_id)
            if report is None:
                continue
            if sb.now() > report["ready_at"] + FILE_TTL:
                return _error(404, "NOT_FOUND", "The link has expired")
            if request.headers.get("api-key"):
                report["leaked_key"] = True
            return JSONResponse(
                {"reportId": report_id, "type": report["kind"], "rows": report_rows(acc, report)}
            )
        return _error(404, "NOT_FOUND", "No such file")

    return app


def seed_offers(app: FastAPI, token: str, offer_ids: list[str]) -> None:
    """Test helper: put finished cards for ``offer_ids`` in ``token``'s catalogue."""
    sb: Sandbox = app.state.sandbox
    acc: YmAccount = sb.account(token)
    with sb.lock:
        for offer_id in offer_ids:
            acc.offers.setdefault(
                offer_id, {"ru": {"offerId": offer_id}, "uz": {}, "created": True, "ready_at": 0.0}
            )


def rejections(app: FastAPI) -> int:
    """Every request the sandbox refused for limits: token buckets, item quotas and the parallel cap."""
    sb: Sandbox = app.state.sandbox
    accounts: list[YmAccount] = list(sb._accounts.values())
    # Parallel-cap refusals are already in ``sb.requests`` (recorded as rejected by the outer gate).
    refused: int = sb.rejections()
    return refused + sum(a.item_rejections for a in accounts)
