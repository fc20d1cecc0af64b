"""Ozon product import: tasks that finish (imported | failed | skipped) after ``task_delay``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from aimanager_sandbox.common.sandbox import Sandbox
from aimanager_sandbox.ozon.state import batch_of, request_account, rpc_error

router = APIRouter()


@router.post("/v3/product/import")
async def product_import(request: Request) -> Response:
    acc = request_account(request)
    sb: Sandbox = request.app.state.sandbox
    items = await batch_of(request, "items", 100, "products")
    if isinstance(items, Response):
        return items
    with sb.lock:
        task_id = acc.new_id()
        acc.tasks[task_id] = {"items": items, "ready_at": sb.ready_at(), "results": None}
    return JSONResponse({"result": {"task_id": task_id}})


@router.post("/v1/product/import/info")
async def import_info(request: Request) -> Response:
    acc = request_account(request)
    task = acc.tasks.get(int((await request.json()).get("task_id") or 0))
    if task is None:
        return rpc_error(404, 5, "task not found")
    items = task["results"] or [
        {"offer_id": i.get("offer_id"), "product_id": 0, "status": "pending", "errors": []}
        for i in task["items"]
    ]
    return JSONResponse({"result": {"items": items, "total": len(items)}})
