"""Uzum FBS orders as ``OrderEvent`` lines, and the seller's confirmation (reference §2, "Orders").

``GET /v2/fbs/orders`` — ``shopIds``, a creation window (``dateFrom``/``dateTo``, epoch ms), ``page``
(0-based) and ``size`` ≤50 — answers ``{payload: {orders, totalAmount}}``; an order's ``orderItems``
are its lines, keyed by the order ``id`` and the item's ``sellerSkuCode`` (our ``offer_id``).

Uzum wants a new FBS order (``CREATED``) confirmed by the seller — one left unconfirmed is cancelled
— so the connector offers ``confirm_orders`` (``POST /v1/fbs/order/{orderId}/confirm``, one call an
order, in the write group); the order then moves to ``PACKING``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from aimanager.connectors.base import ItemError, OrderEvent, PushReport, utc
from aimanager.connectors.errors import NotFoundError, ValidationRejected
from aimanager.connectors.uzum.models import from_ms, to_ms
from aimanager.domain.enums import Marketplace

if TYPE_CHECKING:
    from aimanager.connectors.uzum.connector import UzumConnector

ORDERS_PAGE = 50


async def read_order_lines(conn: UzumConnector, since: datetime) -> list[OrderEvent]:
    """Lines of the FBS orders created since ``since``, every page."""
    now = datetime.now(UTC) + timedelta(minutes=1)
    lines: list[OrderEvent] = []
    page = 0
    while True:
        params = {
            "shopIds": conn.shop_id,
            "dateFrom": to_ms(utc(since)),
            "dateTo": to_ms(now),
            "page": page,
            "size": ORDERS_PAGE,
        }
        answer = await conn.http.json("GET", "/v2/fbs/orders", group="read", params=params) or {}
        payload = answer.get("payload") or {}
        orders = payload.get("orders") or []
        for order in orders:
            for item in order.get("orderItems") or []:
                lines.append(
                    OrderEvent(
                        marketplace=Marketplace.UZUM,
                        order_id=str(order["id"]),
                        offer_id=str(item.get("sellerSkuCode") or item.get("skuTitle") or ""),
                        quantity=int(item.get("amount") or 0),
                        status=str(order.get("status") or ""),
                        ordered_at=from_ms(int(order["dateCreated"])),
                    )
                )
        page += 1
        if not orders or page * ORDERS_PAGE >= int(payload.get("totalAmount") or 0):
            return lines


async def confirm_orders(conn: UzumConnector, order_ids: Sequence[str]) -> PushReport:
    """Confirm each order; a refusal (already confirmed, cancelled, unknown) is a failed item."""
    accepted: list[str] = []
    failed: list[ItemError] = []
    for order_id in order_ids:
        try:
            await conn.http.json("POST", f"/v1/fbs/order/{order_id}/confirm", group="write")
        except (ValidationRejected, NotFoundError) as exc:
            failed.append(ItemError(offer_id=order_id, code=type(exc).__name__, message=str(exc)[:300]))
            continue
        accepted.append(order_id)
    return PushReport(accepted=accepted, failed=failed, requests=len(order_ids))
