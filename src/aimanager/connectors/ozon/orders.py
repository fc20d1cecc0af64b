"""Ozon FBS postings as ``OrderEvent`` lines (reference §4.2, "Orders").

``POST /v4/posting/fbs/list`` (the current version; v3 shuts down 2026-08-31) with ``filter.since`` /
``filter.to`` (posting creation, at most a year apart), ``limit`` ≤1,000 and the answer's ``cursor``
while ``has_next``. A posting's ``products`` are its lines, keyed by ``posting_number`` and
``offer_id``; the status word is the posting's (``awaiting_packaging``, ``delivering``, ``cancelled`` …).
Counted in the account's global 50 requests/s.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aimanager.connectors.base import OrderEvent, utc
from aimanager.domain.enums import Marketplace

if TYPE_CHECKING:
    from aimanager.connectors.ozon.connector import OzonConnector

POSTINGS_PAGE = 1000
WINDOW = timedelta(days=365)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def read_order_lines(conn: OzonConnector, since: datetime) -> list[OrderEvent]:
    """Lines of the postings created since ``since`` (no earlier than a year ago), every page."""
    now = datetime.now(UTC)
    start = max(utc(since), now - WINDOW + timedelta(minutes=1))
    lines: list[OrderEvent] = []
    cursor = ""
    while True:
        body: dict[str, Any] = {
            "filter": {"since": _iso(start), "to": _iso(now + timedelta(minutes=1))},
            "limit": POSTINGS_PAGE,
        }
        if cursor:
            body["cursor"] = cursor
        answer = await conn.http.json("POST", "/v4/posting/fbs/list", group=("global",), json=body) or {}
        for posting in answer.get("postings") or []:
            ordered = datetime.fromisoformat(str(posting["in_process_at"]).replace("Z", "+00:00"))
            for product in posting.get("products") or []:
                lines.append(
                    OrderEvent(
                        marketplace=Marketplace.OZON,
                        order_id=str(posting["posting_number"]),
                        offer_id=str(product["offer_id"]),
                        quantity=int(product.get("quantity") or 0),
                        status=str(posting.get("status") or ""),
                        ordered_at=ordered,
                    )
                )
        cursor = str(answer.get("cursor") or "")
        if not answer.get("has_next") or not cursor:
            return lines
