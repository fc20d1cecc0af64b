"""Wildberries Finance and Tariffs APIs: the detailed realisation report and the commission table."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from aimanager_sandbox.wildberries.report import report_row
from aimanager_sandbox.wildberries.state import SUBJECTS, report_error, request_account

router = APIRouter()


@router.post("/api/finance/v1/sales-reports/detailed")
async def detailed(request: Request) -> Response:
    acc = request_account(request)
    body = await request.json()
    try:
        start, end = date.fromisoformat(body["dateFrom"]), date.fromisoformat(body["dateTo"])
        limit, rrd_id = int(body.get("limit", 100_000)), int(body.get("rrdId", 0))
    except (KeyError, ValueError):
        return report_error(400, "bad request", "dateFrom and dateTo are required (YYYY-MM-DD)")
    if not 1 <= limit <= 100_000:
        return report_error(400, "bad request", "limit must be 1–100000")
    rows = [h for h in acc.history if start <= h.day <= end and h.seq > rrd_id][:limit]
    if not rows:
        return Response(status_code=204)
    return JSONResponse([report_row(acc.cards.get(h.offer_id), h, acc.currency) for h in rows])


@router.get("/api/v1/tariffs/commission")
async def commission(request: Request, locale: str = "ru") -> dict[str, Any]:
    """One of the published shapes by the seller's country: ``FeeUzbekistan`` rows (``kgvp*Uz``) for
    an Uzbek seller, ``Fee`` rows (``kgvpMarketplace`` …) otherwise — never a mix of both."""
    acc = request_account(request)
    rows = []
    for sid, (name, uz, gen) in SUBJECTS.items():
        row: dict[str, Any] = {"subjectID": sid, "subjectName": name, "parentID": 1, "parentName": "Одежда"}
        if acc.country == "uz":
            row.update(kgvpMarketplaceUz=float(uz), kgvpPaidStorageUz=float(uz), kgvpSupplierUz=float(uz))
        else:
            row.update(
                kgvpMarketplace=float(gen),
                kgvpSupplier=float(gen),
                kgvpSupplierExpress=float(gen),
                kgvpPickup=float(gen),
                kgvpBooking=float(gen),
                paidStorageKgvp=float(gen),
            )
        rows.append(row)
    return {"report": rows}
