"""Wildberries Prices API: uploads that move buffer → history after ``task_delay``, and their goods.

Answers as the published spec: ``{data, error, errorText}`` (no ``additionalErrors`` in this API); a
repeat of an earlier upload is **208** with the first upload's id (``alreadyExists``); an upload whose
every item equals the price and discount in force is **400** "The specified prices and discounts are
already set" (the connector takes that as success with nothing to change).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from aimanager_sandbox.common.sandbox import Sandbox
from aimanager_sandbox.wildberries.state import prices_body, prices_error, request_account

router = APIRouter()

ALREADY_SET = "The specified prices and discounts are already set"


@router.post("/api/v2/upload/task")
async def upload_prices(request: Request) -> Response:
    acc = request_account(request)
    sb: Sandbox = request.app.state.sandbox
    data = (await request.json()).get("data")
    if not isinstance(data, list) or not 1 <= len(data) <= 1000:
        return prices_error(400, "Invalid data: 1–1000 goods per upload")
    for item in data:
        ok_nm = isinstance(item, dict) and isinstance(item.get("nmID"), int)
        price, discount = (item.get("price"), item.get("discount")) if ok_nm else (None, None)
        if not ok_nm or (price is None and discount is None):
            return prices_error(400, "Invalid data: nmID and price or discount required")
        if (price is not None and (not isinstance(price, int) or price < 0)) or (
            discount is not None and (not isinstance(discount, int) or not 0 <= discount < 100)
        ):
            return prices_error(400, "Invalid data: price and discount must be integers")
    digest = hashlib.sha256(
        json.dumps(sorted(data, key=lambda i: i["nmID"]), sort_keys=True).encode()
    ).hexdigest()
    with sb.lock:
        if digest in acc.upload_hashes:
            data = {"id": acc.upload_hashes[digest], "alreadyExists": True}
            body = {"data": data, "error": True, "errorText": "Task already exists"}
            return JSONResponse(status_code=208, content=body)
        if all(acc.prices.get(i["nmID"]) == (i.get("price"), i.get("discount", 0)) for i in data):
            return prices_error(400, ALREADY_SET)
        acc.next_id += 1
        upload_id = acc.next_id
        acc.upload_hashes[digest] = upload_id
        acc.uploads[upload_id] = {"items": data, "status": 1, "ready_at": sb.ready_at(), "goods": []}
    return JSONResponse(prices_body({"id": upload_id, "alreadyExists": False}))


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


@router.get("/api/v2/buffer/tasks")
async def buffer_tasks(request: Request, uploadID: int) -> dict[str, Any]:
    upload = request_account(request).uploads.get(uploadID)
    return prices_body(_task_info(uploadID, upload) if upload and upload["status"] == 1 else None)


@router.get("/api/v2/history/tasks")
async def history_tasks(request: Request, uploadID: int) -> dict[str, Any]:
    upload = request_account(request).uploads.get(uploadID)
    return prices_body(_task_info(uploadID, upload) if upload and upload["status"] != 1 else None)


@router.get("/api/v2/history/goods/task")
async def history_goods(request: Request, uploadID: int, limit: int = 1000, offset: int = 0) -> Response:
    if limit > 1000:
        return prices_error(400, "limit must be ≤ 1000")
    upload = request_account(request).uploads.get(uploadID)
    goods = upload["goods"][offset : offset + limit] if upload else []
    # The published answer of this method is ``{data}`` alone.
    return JSONResponse({"data": {"uploadID": uploadID, "historyGoods": goods}})
