"""State, validation and async processing of the Ozon sandbox (the routes live in ``routes_*``)."""

from __future__ import annotations

import base64
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from aimanager_sandbox.common.history import HistoryRow, opening_history
from aimanager_sandbox.common.sandbox import Limit, Sandbox

LIMITS = {
    "global": Limit(50, 1, 50),
    "stocks": Limit(80, 60, 10),
    "analytics": Limit(1, 60, 1),
}
# description_category_id → (type ids, FBS sale %, delivery-to-customer amount)
CATEGORIES = {17028922: ({91565, 91566}, "12", "75"), 17027495: ({94765}, "8", "60")}
WAREHOUSES: list[dict[str, Any]] = [
    {"warehouse_id": 22001, "name": "Ташкент rFBS"},
    {"warehouse_id": 22002, "name": "Бухара rFBS"},
]
# Currencies Ozon documents for a cabinet (``currency_code``). A seeded Uzbek account may be set to
# UZS, which is *not* among them: that case is unconfirmed and kept only to play it (``seed``).
DOCUMENTED_CURRENCIES = ("RUB", "BYN", "KZT", "EUR", "USD", "CNY")


def rpc_error(status: int, code: int, message: str) -> JSONResponse:
    """Ozon's ``rpcStatus`` error body."""
    return JSONResponse(status_code=status, content={"code": code, "message": message, "details": []})


def group_of(method: str, path: str) -> tuple[str, ...]:
    if path == "/v2/products/stocks":
        return ("stocks", "global")
    if path == "/v1/analytics/data":
        return ("analytics", "global")
    return ("global",)


def make_cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"idx:{index}".encode()).decode()


def read_cursor(cursor: str) -> int:
    if not cursor:
        return 0
    return int(base64.urlsafe_b64decode(cursor.encode()).decode().split(":")[1])


@dataclass
class OzonAccount:
    """One seller's catalogue, tasks and counters."""

    products: dict[str, dict[str, Any]] = field(default_factory=dict)  # offer_id → product
    tasks: dict[int, dict[str, Any]] = field(default_factory=dict)
    stocks: dict[tuple[str, int], int] = field(default_factory=dict)  # (offer_id, warehouse) → present
    stock_sent: dict[tuple[str, int], float] = field(default_factory=dict)
    price_events: dict[str, deque[float]] = field(default_factory=dict)
    price_changes: int = 0
    history: list[HistoryRow] = field(default_factory=list)
    next_id: int = 500_000
    currency: str = "RUB"  # the cabinet's settlement currency: every price is in it

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id


def new_account(sb: Sandbox, token: str) -> OzonAccount:
    acc = OzonAccount(currency=str(sb.config.extra.get("currency", "RUB")))
    offers = []
    for i in range(1, sb.config.history_offers + 1):
        offer = f"SEED-{i:03d}"
        pid = acc.new_id()
        acc.products[offer] = {
            "offer_id": offer,
            "product_id": pid,
            "sku": pid + 1_000_000,
            "name": f"Кружка {i}",
            "description_category_id": 17028922,
            "type_id": 91565,
            "price": Decimal(500 + 25 * i),
            "old_price": Decimal(0),
            "min_price": Decimal(0),
            "currency_code": acc.currency,
            "data": {},
        }
        acc.stocks[(offer, 22001)] = 10
        offers.append((offer, Decimal(500 + 25 * i)))
    acc.history = opening_history(sb.config, sb.history_rng(token), offers)
    return acc


def request_account(request: Request) -> OzonAccount:
    """The account of the request's Client-Id, its due import tasks finished (what every route starts
    with)."""
    sb: Sandbox = request.app.state.sandbox
    acc: OzonAccount = sb.account(request.headers["client-id"])
    with sb.lock:
        tick(sb, acc)
    return acc


async def batch_of(request: Request, key: str, most: int, unit: str) -> list[Any] | Response:
    """The body's ``key`` list of a batch write, or Ozon's 400 when it does not hold 1–``most`` entries."""
    entries = (await request.json()).get(key)
    if not isinstance(entries, list) or not 1 <= len(entries) <= most:
        return rpc_error(400, 3, f"{key}: 1–{most} {unit} per request")
    return entries


async def answer_page(
    request: Request, render: Callable[[OzonAccount, dict[str, Any]], dict[str, Any]]
) -> Response:
    """A cursor-paged product read (``limit``, ``cursor``, ``filter.offer_id``): one ``render``ed item
    per product of the page."""
    acc = request_account(request)
    body = await request.json()
    limit = int(body.get("limit") or 100)
    if not 1 <= limit <= 1000:
        return rpc_error(400, 3, "limit must be 1–1000")
    wanted = (body.get("filter") or {}).get("offer_id")
    products = [p for o, p in sorted(acc.products.items()) if not wanted or o in wanted]
    start = read_cursor(body.get("cursor") or "")
    items = [render(acc, p) for p in products[start : start + limit]]
    end = start + len(items)
    total = len(products)
    return JSONResponse({"items": items, "cursor": make_cursor(end) if end < total else "", "total": total})


def import_errors(item: dict[str, Any], currency: str | None = None) -> list[dict[str, Any]]:
    """Why Ozon would fail this import item (``currency``: the cabinet's; ``None`` skips that check)."""

    def err(code: str, fieldname: str, text: str) -> dict[str, Any]:
        # ``V1ItemError``: the human text is ``message`` (``description`` is kept empty, as Ozon does).
        return {
            "code": code,
            "field": fieldname,
            "attribute_id": 0,
            "attribute_name": "",
            "level": "error",
            "state": "declined",
            "message": text,
            "description": "",
        }

    problems = []
    offer = str(item.get("offer_id") or "")
    if not offer or len(offer) > 50:
        problems.append(err("invalid_offer_id", "offer_id", "offer_id must be 1–50 characters"))
    name = str(item.get("name") or "")
    if not name or len(name) > 500:
        problems.append(err("invalid_name", "name", "name must be 1–500 characters"))
    category = CATEGORIES.get(item.get("description_category_id") or 0)
    if category is None or item.get("type_id") not in category[0]:
        problems.append(err("invalid_category", "description_category_id", "unknown category or type"))
    try:
        if Decimal(str(item.get("price") or "0")) <= 0:
            problems.append(err("invalid_price", "price", "price is required"))
    except InvalidOperation:
        problems.append(err("invalid_price", "price", "price must be a decimal string"))
    if currency is not None and item.get("currency_code", currency) != currency:
        problems.append(
            err("currency_mismatch", "currency_code", f"prices of this cabinet are in {currency}")
        )
    for dim in ("depth", "width", "height", "weight"):
        if not item.get(dim):
            problems.append(err("dimensions_invalid", dim, f"{dim} must be a real non-zero value"))
    if len(item.get("images") or []) > 30:
        problems.append(err("too_many_images", "images", "at most 30 images"))
    return problems


def tick(sb: Sandbox, acc: OzonAccount) -> None:
    now = sb.now()
    for task in acc.tasks.values():
        if task["results"] is not None or task["ready_at"] > now:
            continue
        results = []
        for item in task["items"]:
            offer = str(item.get("offer_id") or "")
            errors = import_errors(item, acc.currency)
            existing = acc.products.get(offer)
            if errors:
                results.append({"offer_id": offer, "product_id": 0, "status": "failed", "errors": errors})
                continue
            if existing is not None and existing["data"] == item:
                results.append(
                    {
                        "offer_id": offer,
                        "product_id": existing["product_id"],
                        "status": "skipped",
                        "errors": [],
                    }
                )
                continue
            pid = existing["product_id"] if existing else acc.new_id()
            acc.products[offer] = {
                "offer_id": offer,
                "product_id": pid,
                "sku": pid + 1_000_000,
                "name": item["name"],
                "description_category_id": item["description_category_id"],
                "type_id": item["type_id"],
                "price": Decimal(str(item["price"])),
                "old_price": Decimal(str(item.get("old_price") or 0)),
                "min_price": Decimal(0),
                "currency_code": acc.currency,
                "data": item,
            }
            results.append({"offer_id": offer, "product_id": pid, "status": "imported", "errors": []})
        task["results"] = results


def old_price_ok(price: Decimal, old: Decimal) -> bool:
    """The documented gap between ``old_price`` and ``price``."""
    if old <= 0:
        return True
    gap = old - price
    if price < 400:
        return gap >= 20
    if price <= 10_000:
        return gap >= price * Decimal("0.05")
    return gap >= 500
