"""Ozon prices: batch price import (per-item errors, 10 changes/hour) and the paged price read."""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from aimanager_sandbox.common.sandbox import Sandbox
from aimanager_sandbox.ozon.state import (
    CATEGORIES,
    OzonAccount,
    answer_page,
    batch_of,
    old_price_ok,
    request_account,
)

router = APIRouter()


@router.post("/v1/product/import/prices")
async def import_prices(request: Request) -> Response:
    acc = request_account(request)
    sb: Sandbox = request.app.state.sandbox
    prices = await batch_of(request, "prices", 1000, "items")
    if isinstance(prices, Response):
        return prices
    out = []
    with sb.lock:
        now = sb.now()
        for p in prices:
            offer = str(p.get("offer_id") or "")
            product = acc.products.get(offer)
            row: dict[str, Any] = {
                "offer_id": offer,
                "product_id": product["product_id"] if product else 0,
                "updated": False,
                "errors": [],
            }
            out.append(row)
            if product is None:
                row["errors"] = [{"code": "PRODUCT_IS_NOT_CREATED", "message": "product not found"}]  # [I]
                continue
            events = acc.price_events.setdefault(offer, deque())
            while events and events[0] <= now - 3600:
                events.popleft()
            if len(events) >= 10:
                row["errors"] = [
                    {"code": "TOO_MANY_REQUESTS", "message": "price changes limit: 10 per hour"}
                ]  # [I]
                continue
            if p.get("currency_code", acc.currency) != acc.currency:
                row["errors"] = [
                    {
                        "code": "CURRENCY_IS_NOT_MATCHED",
                        "message": f"prices of this cabinet are in {acc.currency}",
                    }
                ]  # [I]
                continue
            price = Decimal(str(p.get("price") or "0"))
            old = Decimal(str(p.get("old_price") or "0"))
            if price <= 0 or not old_price_ok(price, old):
                row["errors"] = [
                    {"code": "INVALID_PRICE", "message": "price/old_price gap rule violated"}
                ]  # [I]
                continue
            events.append(now)
            minimum = Decimal(str(p.get("min_price") or product["min_price"]))
            if (product["price"], product["old_price"], product["min_price"]) != (price, old, minimum):
                product.update(price=price, old_price=old, min_price=minimum)
                acc.price_changes += 1
            row["updated"] = True
    return JSONResponse({"result": out})


def price_item(acc: OzonAccount, p: dict[str, Any]) -> dict[str, Any]:
    """One item of the v5 price read: prices are *numbers* (v4 sent strings) and the item carries
    acquiring, marketing actions, price indexes, the volume weight, VAT, net and retail prices."""
    _, pct, deliv = CATEGORIES.get(p["description_category_id"], (set(), "15", "80"))
    price, old = float(p["price"]), float(p["old_price"])
    return {
        "offer_id": p["offer_id"],
        "product_id": p["product_id"],
        "acquiring": round(price * 0.015, 2),
        "volume_weight": 0.5,
        "price": {
            "price": price,
            "old_price": old,
            "min_price": float(p["min_price"]),
            "marketing_seller_price": price,
            "net_price": 0.0,
            "retail_price": 0.0,
            "vat": 0.0,
            "currency_code": acc.currency,
            "auto_action_enabled": False,
            "auto_add_to_ozon_actions_list_enabled": False,
        },
        "commissions": {
            "sales_percent_fbs": float(pct),
            "sales_percent_rfbs": float(pct),
            "sales_percent_fbo": float(pct) + 2,
            "sales_percent_fbp": float(pct) + 2,
            "fbs_deliv_to_customer_amount": float(deliv),
            "fbo_deliv_to_customer_amount": float(deliv),
            "fbs_direct_flow_trans_min_amount": 0.0,
            "fbs_direct_flow_trans_max_amount": 0.0,
            "fbs_first_mile_min_amount": 0.0,
            "fbs_first_mile_max_amount": 0.0,
            "fbs_return_flow_amount": 0.0,
            "fbo_direct_flow_trans_min_amount": 0.0,
            "fbo_direct_flow_trans_max_amount": 0.0,
            "fbo_return_flow_amount": 0.0,
        },
        "marketing_actions": {
            "actions": [],
            "current_period_from": "",
            "current_period_to": "",
            "ozon_actions_exist": False,
        },
        "price_indexes": {
            "color_index": "COLOR_INDEX_WITHOUT_INDEX",
            "external_index_data": {
                "min_price": 0.0,
                "min_price_currency": acc.currency,
                "price_index_value": 0.0,
            },
            "ozon_index_data": {
                "min_price": 0.0,
                "min_price_currency": acc.currency,
                "price_index_value": 0.0,
            },
            "self_marketplaces_index_data": {
                "min_price": 0.0,
                "min_price_currency": acc.currency,
                "price_index_value": 0.0,
            },
        },
    }


@router.post("/v5/product/info/prices")
async def info_prices(request: Request) -> Response:
    return await answer_page(request, price_item)
