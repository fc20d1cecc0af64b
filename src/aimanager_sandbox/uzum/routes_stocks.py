"""Uzum FBS stocks by barcode: the write and the v2 (all) and v3 (paged) reads."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from aimanager_sandbox.common.sandbox import Sandbox
from aimanager_sandbox.uzum.state import (
    MAX_AMOUNT,
    MAX_PAGE,
    UzumShop,
    body_of,
    envelope,
    no_sku_access,
    refuse,
    request_shop,
)

router = APIRouter()


@router.post("/v2/fbs/sku/stocks")
async def update_stocks(request: Request) -> Response:
    if (refusal := no_sku_access(request, "SKU_UPDATE")) is not None:
        return refusal
    acc = request_shop(request)
    sb: Sandbox = request.app.state.sandbox
    body = await body_of(request)
    rows = body.get("skuAmountList") if isinstance(body, dict) else None
    if not isinstance(rows, list) or not rows:
        return refuse(400, "validation-error", "skuAmountList is required")
    barcodes = [r.get("barcode") for r in rows]
    if any(not isinstance(b, str) or not b for b in barcodes) or len(set(barcodes)) != len(barcodes):
        return refuse(400, "validation-error", "barcode is mandatory and must be unique")
    for r in rows:
        amount = r.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or not 0 <= amount <= MAX_AMOUNT:
            return refuse(400, "validation-error", f"amount must be an integer 0..{MAX_AMOUNT}")
    known = acc.by_barcode()
    errors = []
    updated = 0
    with sb.lock:
        for r in rows:
            if r["barcode"] not in known:
                errors.append(
                    {
                        "code": "storage-service-04",
                        "message": "SKU with this barcode not found",
                        "payload": {"barcode": r["barcode"]},
                    }
                )
                continue
            if acc.stocks.get(r["barcode"]) != r["amount"]:
                acc.stock_changes += 1
            acc.stocks[r["barcode"]] = r["amount"]
            known[r["barcode"]][1]["quantityFbs"] = r["amount"]
            updated += 1
    return envelope({"updatedRecords": updated}, errors)


def stock_rows(acc: UzumShop) -> list[dict[str, Any]]:
    return [
        {
            "skuId": s["skuId"],
            "skuTitle": s["skuTitle"],
            "productTitle": p["title"],
            "barcode": barcode,
            "amount": acc.stocks[barcode],
            "fbsAllowed": True,
            "dbsAllowed": False,
            "fbsLinked": True,
            "dbsLinked": False,
            "sellerSkuCode": s["sellerItemCode"],
        }
        for barcode, (p, s) in acc.by_barcode().items()
        if barcode in acc.stocks
    ]


@router.get("/v2/fbs/sku/stocks")
async def stocks_v2(request: Request) -> Response:
    if (refusal := no_sku_access(request, "SKU_READ")) is not None:
        return refusal
    return envelope({"skuAmountList": stock_rows(request_shop(request))})


@router.get("/v3/fbs/sku/stocks")
async def stocks_v3(request: Request, page: int = 0, size: int = 20) -> Response:
    if (refusal := no_sku_access(request, "SKU_READ")) is not None:
        return refusal
    if size < 1 or size > MAX_PAGE or page < 0:
        return refuse(400, "validation-error", f"size must be 1..{MAX_PAGE}, page ≥ 0")
    rows = stock_rows(request_shop(request))
    return envelope({"skuAmountList": rows[page * size : (page + 1) * size], "totalElements": len(rows)})
