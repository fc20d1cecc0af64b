"""State, wire helpers and rules of the Yandex Market sandbox (the routes live in ``routes_*``)."""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from aimanager_sandbox.common.history import HistoryRow, opening_history
from aimanager_sandbox.common.sandbox import Limit, Sandbox

LIMITS: dict[str, Limit] = {
    "offer-mappings-update": Limit(5000, 60, 5000),  # items
    "offer-prices-update": Limit(10000, 60, 10000),  # items
    "offer-prices-read": Limit(10000, 60, 10000),  # items (getDefaultPrices)
    "stocks-update": Limit(100000, 60, 100000),  # items
    "stocks-read": Limit(100000, 60, 100000),  # items
    "offer-cards-read": Limit(100, 60, 100),
    "orders-read": Limit(10000, 3600, 10000),
    "stats-orders": Limit(10000, 3600, 10000),
    "reports-info": Limit(100, 60, 100),
    **{
        f"report:{k}": Limit(1, 120, 1)
        for k in ("united-orders", "united-netting", "united-marketplace-services", "stocks-on-warehouses")
    },
}
MAX_PARALLEL = 2
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


def new_account(sb: Sandbox, token: str) -> YmAccount:
    rng = sb.history_rng(token)
    extra = sb.config.extra
    fixed = extra.get("accounts", {}).get(token)
    if fixed is None and "business_id" in extra:
        fixed = (int(extra["business_id"]), int(extra["campaign_id"]))
    business, campaign = fixed or (rng.randint(10_000, 99_999), rng.randint(100_000, 999_999))
    acc = YmAccount(business_id=business, campaign_id=campaign)
    offers = [(f"YM-{i:03d}", Decimal(rng.randint(50, 900) * 1000)) for i in range(sb.config.history_offers)]
    history = opening_history(sb.config, rng, offers)
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
        fee = int(h.unit_price * h.quantity * h.commission_pct / 100)
        acc.orders.append(order_row(h, campaign, f"Товар {h.offer_id}", fee=fee, delivery=int(h.logistics)))
    return acc


def order_row(h: HistoryRow, campaign_id: int, offer_name: str, *, fee: int, delivery: int) -> dict[str, Any]:
    """One delivered (or returned) FBS order of the history; ``fee`` and ``delivery`` are kept for the
    united-* reports (the orders answer leaves ``_``-fields out)."""
    created = datetime.combine(h.day, time(9 + h.seq % 12), tzinfo=UTC)
    return {
        "orderId": 70_000_000 + h.seq,
        "campaignId": campaign_id,
        "programType": "FBS",
        "status": "RETURNED" if h.returned else "DELIVERED",
        "substatus": "DELIVERY_SERVICE_DELIVERED",
        "creationDate": created.isoformat(),
        "paymentType": "PREPAID",
        "paymentMethod": "YANDEX",
        "fake": False,
        "delivery": delivery_of(h.day, created),
        "items": [
            {
                "id": h.seq,
                "offerId": h.offer_id,
                "offerName": offer_name,
                "count": h.quantity,
                "prices": {"payment": {"value": int(h.unit_price), "currencyId": "UZS"}},
            }
        ],
        "_fee": fee,
        "_delivery": delivery,
    }


def delivery_of(day: date, created: datetime) -> dict[str, Any]:
    """``BusinessOrderDeliveryDTO`` of a delivered FBS order: every field the spec requires (type,
    service, partner, dates) plus the shipment."""
    return {
        "type": "DELIVERY",
        "serviceName": "Яндекс Доставка",
        "deliveryServiceId": 1005471,
        "warehouseId": "1",
        "deliveryPartnerType": "YANDEX_MARKET",
        "dispatchType": "BUYER",
        "dates": {
            "fromDate": (day + timedelta(days=2)).isoformat(),
            "toDate": (day + timedelta(days=3)).isoformat(),
        },
        "shipment": {
            "id": int(created.timestamp()) % 1_000_000,
            "shipmentDate": (day + timedelta(days=1)).isoformat(),
        },
        "estimated": False,
    }


def ym_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={"status": "ERROR", "errors": [{"code": code, "message": message}]},
        headers=headers,
    )


def ok(result: Any = None, **top: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"status": "OK", **top}
    if result is not None:
        body["result"] = result
    return body


def group_of(method: str, path: str) -> str | None:
    """Request-counted groups; item-counted ones are charged by the handlers (they know the count)."""
    if path.endswith("/offer-cards"):
        return "offer-cards-read"
    if path.endswith("/orders") and path.startswith("/v1/businesses/"):
        return "orders-read"
    if path.endswith("/stats/orders"):
        return "stats-orders"
    if path.startswith("/v2/reports/info/"):
        return "reports-info"
    if path.startswith("/v2/reports/") and path.endswith("/generate"):
        return "report:" + path.split("/")[3]
    return None


def make_page_token(value: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": value}).encode()).decode()


def read_page_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["o"])
    except (ValueError, KeyError, TypeError):
        return -1


def limit_headers(spec: Limit | None, remaining: float, wait: float) -> dict[str, str]:
    until = datetime.now(UTC) + timedelta(seconds=math.ceil(max(wait, 1.0)) + 1)
    return {
        "X-RateLimit-Resource-Limit": str(int(spec.limit)) if spec else "0",
        "X-RateLimit-Resource-Remaining": str(max(0, int(remaining))),
        "X-RateLimit-Resource-Until": format_datetime(until, usegmt=True),
    }


async def body_of(request: Request) -> tuple[Any, Response | None]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        return None, ym_error(400, "BAD_REQUEST", "Request body is larger than 512 KB")
    try:
        return json.loads(raw or b"{}"), None
    except ValueError:
        return None, ym_error(400, "BAD_REQUEST", "Malformed JSON")


def api_key(request: Request) -> str:
    return request.headers["api-key"]


def request_account(request: Request) -> YmAccount:
    """The account (login) of the request's Api-Key."""
    sb: Sandbox = request.app.state.sandbox
    acc: YmAccount = sb.account(request.headers["api-key"])
    return acc


def denied(acc: YmAccount, business: int | None = None, campaign: int | None = None) -> Response | None:
    """A 403 when the path names another business or campaign than the login's."""
    if (business is not None and business != acc.business_id) or (
        campaign is not None and campaign != acc.campaign_id
    ):
        return ym_error(403, "FORBIDDEN", "Access denied to this business or campaign")
    return None


async def account_and_body(
    request: Request, business: int | None = None, campaign: int | None = None
) -> tuple[YmAccount, Any] | Response:
    """The login's account and the JSON body of a request on ``business``'s or ``campaign``'s path, or
    what refuses it: the 403 of ``denied``, then the 400 of ``body_of``."""
    acc = request_account(request)
    if (refusal := denied(acc, business, campaign)) is not None:
        return refusal
    body, refusal = await body_of(request)
    if refusal is not None:
        return refusal
    return acc, body


def paging(start: int, limit: int, total: int) -> dict[str, str]:
    """The ``paging`` of a page that starts at ``start``: the next page's token, if there is one."""
    return {"nextPageToken": make_page_token(start + limit)} if start + limit < total else {}


def take_items(sb: Sandbox, acc: YmAccount, token: str, group: str, count: int) -> Response | None:
    """Charge ``count`` items to an item-counted quota (the gate counts requests, not items)."""
    if not sb.config.enforce_limits:
        return None
    with sb.lock:
        allowed, remaining, retry, _ = sb.limiter.take(token, (group,), float(count))
        if not allowed:
            acc.item_rejections += 1
    if allowed:
        return None
    return ym_error(
        420,
        "LIMIT_EXCEEDED",
        "Too many offers per minute",
        limit_headers(LIMITS[group], remaining, retry),
    )


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
