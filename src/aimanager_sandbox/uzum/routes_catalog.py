"""Uzum shops, products (paged) and prices (``sendPriceData``: per-SKU errors, integer UZS)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from aimanager_sandbox.common.sandbox import Sandbox
from aimanager_sandbox.uzum.state import (
    MAX_PAGE,
    body_of,
    envelope,
    refuse,
    request_shop,
    wrong_shop,
)

router = APIRouter()


@router.get("/v1/shops")
async def shops(request: Request) -> list[dict[str, Any]]:
    return [{"id": request_shop(request).shop_id, "name": "Sandbox shop"}]


@router.get("/v1/product/shop/{shop_id}")
async def products(request: Request, shop_id: int, page: int = 0, size: int = 20) -> Response:
    acc = request_shop(request)
    if (refusal := wrong_shop(acc, shop_id)) is not None:
        return refusal
    if size < 1 or size > MAX_PAGE or page < 0:
        return refuse(400, "validation-error", f"size must be 1..{MAX_PAGE}, page ≥ 0")
    items = list(acc.products.values())
    page_items = items[page * size : (page + 1) * size]
    return JSONResponse({"productList": page_items, "totalProductsAmount": len(items)})


@router.post("/v1/product/{shop_id}/sendPriceData")
async def send_price(request: Request, shop_id: int) -> Response:
    acc = request_shop(request)
    sb: Sandbox = request.app.state.sandbox
    if (refusal := wrong_shop(acc, shop_id)) is not None:
        return refusal
    body = await body_of(request)
    if not isinstance(body, dict) or body.get("productId") not in acc.products or not body.get("skuList"):
        return refuse(400, "product-01", "productId of this shop and a non-empty skuList are required")
    product = acc.products[body["productId"]]
    own = {s["skuId"]: s for s in product["skuList"]}
    errors: list[dict[str, Any]] = []
    for item in body["skuList"]:
        full, sell = item.get("fullPrice"), item.get("sellPrice")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (full, sell)):
            return refuse(400, "validation-error", "fullPrice and sellPrice are int64 UZS")
        if item.get("skuId") not in own:
            errors.append(
                {
                    "code": "product-04",
                    "message": "SKU is not in this product",
                    "payload": {"skuId": item.get("skuId")},
                }
            )
        elif sell > full or sell <= 0:
            errors.append(
                {
                    "code": "product-05",
                    "message": "sellPrice must be > 0 and ≤ fullPrice",
                    "payload": {"skuId": item["skuId"]},
                }
            )
    with sb.lock:
        for item in body["skuList"]:
            sku = own.get(item["skuId"])
            if sku is None or any(e["payload"]["skuId"] == item["skuId"] for e in errors):
                continue
            if (sku["price"], sku["fullPrice"]) != (item["sellPrice"], item["fullPrice"]):
                sku["price"], sku["fullPrice"] = item["sellPrice"], item["fullPrice"]
                acc.price_changes += 1
    return envelope({"productId": product["productId"]}, errors)
