"""Market Yandex FBS orders as ``OrderEvent`` lines (reference §5, "Orders").

The cabinet-wide ``POST /v1/businesses/{businessId}/orders`` (the campaign-level v2 call is
deprecated) with ``dates.updateDateFrom``/``updateDateTo`` — orders *changed* in the window, so a
cancellation of an older order is seen too — at most 30 days a call, ``programTypes: ["FBS"]``, the
login's campaign, ``pageToken`` paging of ≤50 orders; 10,000 calls an hour (``orders-read``). An
order's ``items`` are its lines, keyed by ``orderId`` and ``offerId``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from aimanager.connectors.base import OrderEvent, utc
from aimanager.connectors.yandex.order_history import business_orders, windows
from aimanager.domain.enums import Marketplace

if TYPE_CHECKING:
    from aimanager.connectors.yandex.connector import YandexMarketConnector

WINDOW_DAYS = 30


async def read_order_lines(conn: YandexMarketConnector, since: datetime) -> list[OrderEvent]:
    """Lines of the FBS orders changed since ``since`` (its UTC day), 30-day windows, every page."""
    today = datetime.now(UTC).date()
    first = max(utc(since).date(), today - timedelta(days=365))
    lines: list[OrderEvent] = []
    for start, end in windows(first, today, WINDOW_DAYS):
        body = {
            "dates": {"updateDateFrom": start.isoformat(), "updateDateTo": end.isoformat()},
            "campaignIds": [conn.campaign_id],
            "programTypes": ["FBS"],
        }
        async for order in business_orders(conn, body):
            changed = order.get("updateDate")
            for item in order.get("items") or []:
                lines.append(
                    OrderEvent(
                        marketplace=Marketplace.YANDEX,
                        order_id=str(order["orderId"]),
                        offer_id=str(item["offerId"]),
                        quantity=int(item.get("count") or 0),
                        status=str(order.get("status") or ""),
                        ordered_at=datetime.fromisoformat(str(order["creationDate"])),
                        changed_at=datetime.fromisoformat(str(changed)) if changed else None,
                    )
                )
    return lines
