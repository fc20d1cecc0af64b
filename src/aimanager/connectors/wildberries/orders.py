"""Wildberries FBS assembly tasks (orders) as ``OrderEvent`` lines (reference §3, "Orders").

``GET /api/v3/orders`` lists the tasks created in a window (Unix seconds, at most 30 days; ``next``
paging, ≤1,000 a page) and ``POST /api/v3/orders/status`` gives each one's ``supplierStatus`` and
``wbStatus`` (≤1,000 ids a call); both are in the Marketplace API's 300/min group. One task is one
unit of one size: every line has quantity 1, keyed by the task id. The seller's article is
``article`` (our ``offer_id``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aimanager.connectors.base import OrderEvent, batches, utc
from aimanager.domain.enums import Marketplace

if TYPE_CHECKING:
    from aimanager.connectors.wildberries.connector import WildberriesConnector

ORDERS_PAGE = 1000
STATUS_BATCH = 1000
WINDOW = timedelta(days=30)


async def read_order_lines(conn: WildberriesConnector, since: datetime) -> list[OrderEvent]:
    """Tasks created since ``since`` (no earlier than 30 days ago), each with its current status."""
    now = datetime.now(UTC)
    start = max(utc(since), now - WINDOW + timedelta(minutes=1))
    tasks: list[dict[str, Any]] = []
    cursor = 0
    while True:
        params = {
            "limit": ORDERS_PAGE,
            "next": cursor,
            "dateFrom": int(start.timestamp()),
            "dateTo": int(now.timestamp()) + 1,
        }
        page = await conn.http.json(
            "GET", "/api/v3/orders", group="marketplace", host="marketplace", params=params
        )
        rows = (page or {}).get("orders") or []
        tasks.extend(rows)
        if len(rows) < ORDERS_PAGE:
            break
        cursor = int((page or {}).get("next") or 0)
    statuses: dict[int, str] = {}
    for batch in batches([t["id"] for t in tasks], STATUS_BATCH):
        answer = await conn.http.json(
            "POST",
            "/api/v3/orders/status",
            group="marketplace",
            host="marketplace",
            json={"orders": list(batch)},
        )
        for row in (answer or {}).get("orders") or []:
            statuses[row["id"]] = f"{row.get('supplierStatus') or ''}/{row.get('wbStatus') or ''}"
    return [
        OrderEvent(
            marketplace=Marketplace.WILDBERRIES,
            order_id=str(t["id"]),
            offer_id=str(t.get("article") or ""),
            quantity=1,
            # A task the status call did not name yet is new: held, the safe reading.
            status=statuses.get(t["id"], "new/waiting"),
            ordered_at=datetime.fromisoformat(str(t["createdAt"]).replace("Z", "+00:00")),
        )
        for t in tasks
    ]
