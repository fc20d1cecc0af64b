"""Yandex Market's business orders feed (``POST /v1/businesses/{businessId}/orders``): every order of the
campaign with its prices but no fees — the sales history stock buffers read, and the report's lines when
the order stats (``stats``) are not what is asked for. 30-day windows, every page by ``pageToken``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from aimanager.connectors.base import SaleRecord
from aimanager.connectors.yandex import models as M
from aimanager.connectors.yandex.wire import sale_records

if TYPE_CHECKING:
    from aimanager.connectors.yandex.connector import YandexMarketConnector

ORDERS_WINDOW_DAYS = 30  # the orders method refuses longer date windows


def windows(first: date, last: date, days: int = ORDERS_WINDOW_DAYS) -> Iterator[tuple[date, date]]:
    """``[first, last]`` cut into windows of at most ``days`` days, in order."""
    start = first
    while start <= last:
        end = min(last, start + timedelta(days=days - 1))
        yield start, end
        start = end + timedelta(days=1)


async def business_orders(conn: YandexMarketConnector, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    """Every order the cabinet-wide orders call answers for ``body``, page after page (``pageToken``)."""
    token: str | None = None
    while True:
        params: dict[str, Any] = {"limit": M.ORDERS_PAGE_LIMIT}
        if token:
            params["pageToken"] = token
        answer = await conn.http.json(
            "POST", f"/v1/businesses/{conn.business_id}/orders", group="orders-read", params=params, json=body
        )
        for order in (answer or {}).get("orders") or []:
            yield order
        token = ((answer or {}).get("paging") or {}).get("nextPageToken")
        if not token:
            return


async def read_orders(conn: YandexMarketConnector, date_from: date, date_to: date) -> list[SaleRecord]:
    """Orders of the campaign created in ``[date_from, date_to]``: 30-day windows, every page."""
    records: list[SaleRecord] = []
    for start, end in windows(date_from, date_to):
        body = M.GetBusinessOrdersRequest(
            dates=M.OrderDates(creationDateFrom=start, creationDateTo=end), campaignIds=[conn.campaign_id]
        )
        async for order in business_orders(conn, M.dump(body)):
            records.extend(sale_records(M.BusinessOrder.model_validate(order)))
    return records
