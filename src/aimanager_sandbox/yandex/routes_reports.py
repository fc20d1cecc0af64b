"""YM reports: generate → info (PENDING → PROCESSING → DONE/FAILED) → a JSON file that expires."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
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
    period = report_period(kind, body, sb.utcnow().date())
    if isinstance(period, str):
        return ym_error(400, "BAD_REQUEST", period)
    start, end = period
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


def _day(value: Any) -> date:
    """A ``date`` or the date of a ``date-time`` ("2026-10-01", "2026-10-01T00:00:00Z")."""
    return date.fromisoformat(str(value)[:10])


def report_period(kind: str, body: dict[str, Any], today: date) -> tuple[date, date] | str:
    """The days a report covers, from whichever period form its request uses (or why it has none).

    united-orders: ``dateFrom``/``dateTo``. united-netting: those, or ``dateTimeFrom``/``dateTimeTo``,
    or ``monthOfYear``, or a payment order (``bankOrderId`` with ``bankOrderDateTime``: the week the
    payment covers [I]). united-marketplace-services: dates, date-times, or ``yearFrom``/``monthFrom``
    … ``yearTo``/``monthTo``. stocks-on-warehouses: one day, ``reportDate`` (default today).
    """
    try:
        if kind == "stocks-on-warehouses":
            day = _day(body["reportDate"]) if body.get("reportDate") else today
            return day, day
        if "dateFrom" in body or "dateTo" in body:
            return _day(body["dateFrom"]), _day(body["dateTo"])
        if kind != "united-orders" and ("dateTimeFrom" in body or "dateTimeTo" in body):
            return _day(body["dateTimeFrom"]), _day(body["dateTimeTo"])
        if kind == "united-netting" and "monthOfYear" in body:
            year, month = int(body["monthOfYear"]["year"]), int(body["monthOfYear"]["month"])
            first = date(year, month, 1)
            following = date(year + month // 12, month % 12 + 1, 1)
            return first, following - timedelta(days=1)
        if kind == "united-netting" and "bankOrderId" in body:
            paid = _day(body["bankOrderDateTime"])
            return paid - timedelta(days=7), paid
        if kind == "united-marketplace-services" and "yearFrom" in body:
            start = date(int(body["yearFrom"]), int(body["monthFrom"]), 1)
            year, month = int(body["yearTo"]), int(body["monthTo"])
            return start, date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    except (KeyError, TypeError, ValueError):
        pass
    forms = {
        "united-orders": "dateFrom and dateTo",
        "united-netting": "dateFrom/dateTo, dateTimeFrom/dateTimeTo, monthOfYear or bankOrderId "
        "with bankOrderDateTime",
        "united-marketplace-services": "dateFrom/dateTo, dateTimeFrom/dateTimeTo or "
        "yearFrom/monthFrom/yearTo/monthTo",
    }
    return f"a period is required: {forms.get(kind, 'dateFrom and dateTo')}"


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
