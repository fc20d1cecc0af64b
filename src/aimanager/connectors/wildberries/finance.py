"""Wildberries finance: the realisation report (sales, returns, commission and logistics per line,
``/api/finance/v1/sales-reports/detailed``, paged by ``rrdId``) and commission tariffs by subject
(``/api/v1/tariffs/commission``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from aimanager.connectors.base import FeeInfo, SaleRecord
from aimanager.connectors.wildberries.wire import commission_of, report_records

if TYPE_CHECKING:
    from aimanager.connectors.wildberries.connector import WildberriesConnector


async def read_report_lines(conn: WildberriesConnector, date_from: date, date_to: date) -> list[SaleRecord]:
    """Realisation report lines (``/api/finance/v1/sales-reports/detailed``), ``rrdId`` cursor."""
    records: list[SaleRecord] = []
    rrd_id = 0
    while True:
        body = {
            "dateFrom": date_from.isoformat(),
            "dateTo": date_to.isoformat(),
            "limit": conn.report_page,
            "rrdId": rrd_id,
            "period": "daily",
        }
        rows = await conn.http.json(
            "POST", "/api/finance/v1/sales-reports/detailed", group="finance", host="finance", json=body
        )
        if not rows:  # 204: no (more) data
            return records
        # A month of report lines is a quarter second of model building: in a thread, so the
        # event loop keeps starting urgent jobs (the GIL changes hands every few ms).
        records.extend(await asyncio.to_thread(report_records, rows))
        if len(rows) < conn.report_page:
            return records
        rrd_id = rows[-1]["rrdId"]


async def read_fees(conn: WildberriesConnector, offer_ids: Sequence[str]) -> list[FeeInfo]:
    """Commission % by subject (``/api/v1/tariffs/commission``). The answer's shape follows the
    seller's country (``FeeUzbekistan`` rows carry ``kgvpMarketplaceUz``, ``Fee`` rows
    ``kgvpMarketplace``); ``commission_of`` reads whichever the row has. WB logistics depends on
    warehouse and volume, so it is left ``None``."""
    ids = await conn._resolve(offer_ids)
    answer = await conn.http.json(
        "GET", "/api/v1/tariffs/commission", group="tariffs", host="common", params={"locale": "ru"}
    )
    by_subject = {row["subjectID"]: row for row in (answer or {}).get("report") or []}
    fees = []
    for offer, ref in ids.items():
        row = by_subject.get(ref["subjectID"])
        pct = commission_of(row, conn.settings.country) if row is not None else None
        if pct is not None:
            fees.append(FeeInfo(offer_id=offer, commission_pct=pct))
    return fees
