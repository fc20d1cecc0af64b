"""Yandex Market's business orders feed (``POST /v1/businesses/{businessId}/orders``): every order of the
campaign with its prices but no fees — the sales history stock buffers read, and the report's lines when
the order stats (``stats``) are not what is asked for. 30-day windows, every page by ``pageToken``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from aimanager.connectors.base import SaleRecord
from aimanager.connectors.yandex import models as M
from aimanager.connectors.yandex.wire import sale_records

if TYPE_CHECKING:
    from aimanager.connectors.yandex.connector import YandexMarketConnector

ORDERS_WINDOW_DAYS = 30  # the orders method refuses longer date windows


async def read_orders(conn: YandexMarketConnector, date_from: date, date_to: date) -> list[SaleRecord]:
    """Orders of the campaign created in ``[date_from, date_to]``: 30-day windows, every page."""
    records: list[SaleRecord] = []
    start = date_from
    while start <= date_to:
        end = min(date_to, start + timedelta(days=ORDERS_WINDOW_DAYS - 1))
        body = M.GetBusinessOrdersRequest(
            dates=M.OrderDates(creationDateFrom=start, creationDateTo=end), campaignIds=[conn.campaign_id]
        )
        token: str | None = None
        while True:
            params: dict[str, Any] = {"limit": M.ORDERS_PAGE_LIMIT}
            if token:
                params["pageToken"] = token
            answer = await conn.http.json(
                "POST",
                f"/v1/businesses/{conn.business_id}/orders",
                group="orders-read",
                params=params,
                json=M.dump(body),
            )
            for order in (M.BusinessOrder.model_validate(o) for o in answer.get("orders") or []):
                records.extend(sale_records(order))
            token = M.Paging.model_validate(answer.get("paging") or {}).nextPageToken
            if not token:
                break
        start = end + timedelta(days=1)
    return records
