"""YM reports: generate → info (PENDING → PROCESSING → DONE/FAILED) → a JSON file that expires."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from aimanager_sandbox.common.sandbox import Sandbox
from aimanager_sandbox.yandex.state import (
    FILE_TTL,
    LIMITS,
    YmAccount,
    body_of,
    denied,
    ok,
    request_account,
    ym_error,
)

router = APIRouter()


@router.post("/v2/reports/{kind}/generate")
async def generate(request: Request, kind: str, format: str = "FILE") -> Response:
    acc = request_account(request)
    sb: Sandbox = request.app.state.sandbox
    body, refusal = await body_of(request)
    if refusal is not None:
        return refusal
    if f"report:{kind}" not in LIMITS:
        return ym_error(404, "NOT_FOUND", f"Unknown report {kind}")
    if (refusal := denied(acc, body.get("businessId"))) is not None:
        return refusal
    try:
        start, end = date.fromisoformat(body["dateFrom"]), date.fromisoformat(body["dateTo"])
    except (KeyError, TypeError, ValueError):
        return ym_error(400, "BAD_REQUEST", "businessId, dateFrom and dateTo are required")
    if end < start or (end - start).days > 366:
        return ym_error(400, "BAD_REQUEST", "The period must be at most one year")
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
    return JSONResponse(ok({"reportId": report_id, "estimatedGenerationTime": int(delay * 1000)}))


@router.get("/v2/reports/info/{report_id}")
async def report_info(request: Request, report_id: str) -> Response:
    acc = request_account(request)
    sb: Sandbox = request.app.state.sandbox
    report = acc.reports.get(report_id)
    if report is None:
        return ym_error(404, "NOT_FOUND", "Report not found")
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
    return JSONResponse(ok(info))


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


@router.get("/_sandbox/files/reports/{name}")
async def report_file(request: Request, name: str) -> Response:
    # A storage link: no Api-Key; it must not carry one (the sandbox records if it does).
    sb: Sandbox = request.app.state.sandbox
    report_id = name.removesuffix(".json")
    for acc in list(sb._accounts.values()):
        report = acc.reports.get(report_id)
        if report is None:
            continue
        if sb.now() > report["ready_at"] + FILE_TTL:
            return ym_error(404, "NOT_FOUND", "The link has expired")
        if request.headers.get("api-key"):
            report["leaked_key"] = True
        return JSONResponse({"reportId": report_id, "type": report["kind"], "rows": report_rows(acc, report)})
    return ym_error(404, "NOT_FOUND", "No such file")
