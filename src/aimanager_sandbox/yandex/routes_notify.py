"""Yandex Market API notifications of the sandbox's FBS orders (``common.notify``), in YM's shapes.

``ORDER_CREATED`` ``{notificationType, campaignId, orderId, createdAt, items[{offerId, count}]}`` when
an order is placed; ``ORDER_CANCELLED`` ``{…, cancelledAt, items}`` when the buyer cancels; ``PING``
``{notificationType, time}`` when the URL is registered. YM expects HTTP 200 with ``{"version",
"name", "time"}`` (each a non-empty string) to every notification.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI

from aimanager_sandbox.common.notify import install_notify
from aimanager_sandbox.common.orders import SandboxOrder
from aimanager_sandbox.yandex.state import YmAccount


def _z(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


class YmNotify:
    type_field = "notificationType"

    def ping(self) -> dict[str, Any]:
        return {"notificationType": "PING", "time": _z(datetime.now(UTC))}

    def _common(self, acc: YmAccount, order: SandboxOrder) -> dict[str, Any]:
        return {
            "campaignId": acc.campaign_id,
            "orderId": order.id,
            "items": [{"offerId": order.offer_id, "count": order.quantity}],
        }

    def created(self, token: str, acc: YmAccount, order: SandboxOrder) -> dict[str, Any]:
        return {
            "notificationType": "ORDER_CREATED",
            **self._common(acc, order),
            "createdAt": _z(order.created),
        }

    def cancelled(self, token: str, acc: YmAccount, order: SandboxOrder) -> dict[str, Any]:
        return {
            "notificationType": "ORDER_CANCELLED",
            **self._common(acc, order),
            "cancelledAt": _z(order.updated),
        }

    def accepted(self, body: dict[str, Any], status: int, answer: Any) -> bool:
        if status != 200 or not isinstance(answer, dict):
            return False
        return all(isinstance(answer.get(k), str) and answer[k] for k in ("version", "name", "time"))


def install(app: FastAPI) -> None:
    """YM API notifications for ``app``'s order desk (after ``install_orders``)."""
    install_notify(app, YmNotify())
