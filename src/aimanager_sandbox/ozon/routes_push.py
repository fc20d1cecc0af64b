"""Ozon push notifications of the sandbox's FBS postings (``common.notify``), in Ozon's shapes.

``TYPE_NEW_POSTING`` ``{message_type, seller_id, warehouse_id, posting_number, in_process_at,
products[{sku, quantity}]}`` when a posting is created; ``TYPE_POSTING_CANCELLED`` (the same plus
``old_state``, ``new_state: posting_canceled``, ``changed_state_date``, ``reason{id, message}``) when
the buyer cancels; ``TYPE_PING`` ``{message_type, time}`` when the URL is registered. Ozon expects HTTP
200 with ``{"version", "name", "time"}`` to the ping and ``{"result": true}`` to everything else.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI

from aimanager_sandbox.common.notify import install_notify
from aimanager_sandbox.common.orders import SandboxOrder
from aimanager_sandbox.ozon.routes_fbs import posting_of
from aimanager_sandbox.ozon.state import OzonAccount

CANCEL_REASON = {"id": 352, "message": "Покупатель отменил заказ"}  # [I] the id is the sandbox's


def _z(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


class OzonPush:
    type_field = "message_type"

    def ping(self) -> dict[str, Any]:
        return {"message_type": "TYPE_PING", "time": _z(datetime.now(UTC))}

    def _common(self, token: str, acc: OzonAccount, order: SandboxOrder) -> dict[str, Any]:
        posting = posting_of(acc, order)
        return {
            "seller_id": int(token) if token.isdigit() else 0,
            "warehouse_id": posting["delivery_method"]["warehouse_id"],
            "posting_number": posting["posting_number"],
            "products": [{"sku": p["sku"], "quantity": p["quantity"]} for p in posting["products"]],
        }

    def created(self, token: str, acc: OzonAccount, order: SandboxOrder) -> dict[str, Any]:
        return {
            "message_type": "TYPE_NEW_POSTING",
            **self._common(token, acc, order),
            "in_process_at": _z(order.created),
        }

    def cancelled(self, token: str, acc: OzonAccount, order: SandboxOrder) -> dict[str, Any]:
        return {
            "message_type": "TYPE_POSTING_CANCELLED",
            **self._common(token, acc, order),
            "old_state": "posting_awaiting_packaging",
            "new_state": "posting_canceled",
            "changed_state_date": _z(order.updated),
            "reason": CANCEL_REASON,
        }

    def accepted(self, body: dict[str, Any], status: int, answer: Any) -> bool:
        if status != 200 or not isinstance(answer, dict):
            return False
        if body.get("message_type") == "TYPE_PING":
            return all(isinstance(answer.get(k), str) and answer[k] for k in ("version", "name", "time"))
        return answer.get("result") is True


def install(app: FastAPI) -> None:
    """Ozon push notifications for ``app``'s order desk (after ``install_orders``)."""
    install_notify(app, OzonPush())
