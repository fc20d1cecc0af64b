"""Yandex Market sales with the fees the Market actually charged: ``POST /v2/campaigns/{id}/stats/orders``.

The business orders feed (``read_orders``) has prices but no fees, so a report built on it showed YM's
commission and logistics as 0 and its margin as the best. The order stats carry, per order, the
``commissions[]`` charged (``{type, actual}``), and per item the prices (``BUYER``, ``CASHBACK``,
``MARKETPLACE`` parts of what the item sold for). Allowed for Market Yandex Go sellers (``x-allowed``).

How lines are made:

* only orders that reached the buyer count: DELIVERED, PARTIALLY_DELIVERED, PARTIALLY_RETURNED,
  RETURNED (requested with ``statuses``); a returned item is a sale line plus a return line, so its
  revenue nets to zero while its fees stay charged;
* commission = FEE, AGENCY, PAYMENT_TRANSFER, LOYALTY_PARTICIPATION_FEE, AUCTION_PROMOTION,
  INSTALLMENT, ILLIQUID_GOODS_SALE; logistics = every delivery, sorting, fulfilment, storage and
  return-processing type. An order's fees are shared among its items by revenue;
* revenue = the sum of the item's price parts (``total``).

The window is by order creation date; pages of ≤200 orders follow ``nextPageToken``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aimanager.connectors.base import SaleKind, SaleRecord

if TYPE_CHECKING:
    from aimanager.connectors.yandex.connector import YandexMarketConnector

STATS_PAGE_LIMIT = 200
SOLD_STATUSES = ("DELIVERED", "PARTIALLY_DELIVERED", "PARTIALLY_RETURNED", "RETURNED")
COMMISSION_TYPES = frozenset(
    {
        "FEE",
        "AGENCY",
        "PAYMENT_TRANSFER",
        "LOYALTY_PARTICIPATION_FEE",
        "AUCTION_PROMOTION",
        "INSTALLMENT",
        "ILLIQUID_GOODS_SALE",
    }
)
CENT = Decimal("0.01")


async def read_sales(conn: YandexMarketConnector, date_from: date, date_to: date) -> list[SaleRecord]:
    """Sale and return lines of orders created ``date_from``..``date_to`` with their charged fees."""
    body = {"dateFrom": date_from.isoformat(), "dateTo": date_to.isoformat(), "statuses": list(SOLD_STATUSES)}
    records: list[SaleRecord] = []
    token: str | None = None
    while True:
        params: dict[str, Any] = {"limit": STATS_PAGE_LIMIT}
        if token:
            params["pageToken"] = token
        answer = await conn.http.json(
            "POST",
            f"/v2/campaigns/{conn.campaign_id}/stats/orders",
            group="stats-orders",
            params=params,
            json=body,
        )
        result = (answer or {}).get("result") or {}
        for order in result.get("orders") or []:
            records.extend(order_lines(order))
        token = (result.get("paging") or {}).get("nextPageToken")
        if not token:
            return records


def order_lines(order: dict[str, Any]) -> list[SaleRecord]:
    """One ``OrdersStatsOrderDTO`` as sale (and return) lines; fees shared among items by revenue."""
    status = str(order.get("status") or "")
    if status not in SOLD_STATUSES:
        return []
    commission = logistics = Decimal(0)
    for charge in order.get("commissions") or []:
        amount = Decimal(str(charge.get("actual") or 0))
        if charge.get("type") in COMMISSION_TYPES:
            commission += amount
        else:
            logistics += amount
    items = order.get("items") or []
    revenues = [
        sum((Decimal(str(p.get("total") or 0)) for p in item.get("prices") or []), Decimal(0))
        for item in items
    ]
    whole = sum(revenues, Decimal(0))
    day = date.fromisoformat(str(order.get("creationDate"))[:10])
    when = datetime(day.year, day.month, day.day, tzinfo=UTC)
    currency = order.get("currency")
    out: list[SaleRecord] = []
    for item, revenue in zip(items, revenues, strict=True):
        share = revenue / whole if whole > 0 else Decimal(1) / len(items)
        sold = int(item.get("initialCount") or item.get("count") or 0)
        returned = {"RETURNED": sold, "PARTIALLY_RETURNED": sold - int(item.get("count") or 0)}.get(status, 0)
        offer = str(item.get("shopSku") or item.get("marketSku"))
        order_id = str(order.get("id"))
        out.append(
            SaleRecord(
                date=when,
                offer_id=offer,
                order_id=order_id,
                currency=currency,
                quantity=sold,
                revenue=revenue,
                commission=(commission * share).quantize(CENT),
                logistics=(logistics * share).quantize(CENT),
                kind=SaleKind.SALE,
            )
        )
        if returned > 0 and sold > 0:
            out.append(
                SaleRecord(
                    date=when,
                    offer_id=offer,
                    order_id=order_id,
                    currency=currency,
                    quantity=returned,
                    revenue=(revenue * returned / sold).quantize(CENT),
                    kind=SaleKind.RETURN,
                )
            )
    return out
