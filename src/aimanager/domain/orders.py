"""Orders in the stock pool: what a marketplace's order status means for the partner's units.

Sources: seller-tools.md §4.1 (reserve on order, release on cancel) and marketplace-apis.md (each
marketplace's FBS status words). An order line is in one of three states:

* ``reserved`` — the buyer has it, the seller has not shipped it: its units stay in ``Product.stock``
  (they are still on the shelf) but are not *available* to any marketplace;
* ``shipped`` — it left the warehouse: its units are taken off ``Product.stock`` exactly once, at the
  transition;
* ``released`` — cancelled (or returned before it shipped): the units are available again.

``shipped`` and ``released`` are final for the pool. A delivered order the buyer later returns stays
``shipped`` here: the unit comes back through the seller's own stock count once inspected, not the
moment a marketplace says "returned" (it may be damaged, or still on its way back).

A status word no table knows is taken as ``reserved``: holding units back never oversells, and the
next read corrects it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from aimanager.domain.enums import Marketplace


class OrderState(enum.StrEnum):
    """Where an order line stands for the stock pool."""

    RESERVED = "reserved"
    SHIPPED = "shipped"
    RELEASED = "released"

    @property
    def final(self) -> bool:
        return self is not OrderState.RESERVED


_R, _S, _X = OrderState.RESERVED, OrderState.SHIPPED, OrderState.RELEASED

# Status words per marketplace (reference/marketplace-apis.md; WB's come as "supplierStatus/wbStatus").
STATUS_STATES: dict[Marketplace, dict[str, OrderState]] = {
    Marketplace.WILDBERRIES: {
        # supplierStatus: the seller's side of the assembly task
        "new": _R,
        "confirm": _R,
        "complete": _S,
        "cancel": _X,
        # wbStatus: WB's side
        "waiting": _R,
        "sorted": _S,
        "sold": _S,
        "ready_for_pickup": _S,
        "postponed_delivery": _S,
        "canceled": _X,
        "canceled_by_client": _X,
        "declined_by_client": _X,
        "defect": _X,
    },
    Marketplace.OZON: {
        "acceptance_in_progress": _R,
        "awaiting_approve": _R,
        "awaiting_registration": _R,
        "awaiting_packaging": _R,
        "awaiting_deliver": _R,
        "awaiting_verification": _R,
        "arbitration": _R,
        "client_arbitration": _R,
        "driver_pickup": _S,
        "sent_by_seller": _S,
        "delivering": _S,
        "delivered": _S,
        "cancelled": _X,
        "not_accepted": _X,
    },
    Marketplace.YANDEX: {
        "PLACING": _R,
        "RESERVED": _R,
        "UNPAID": _R,
        "PENDING": _R,
        "PROCESSING": _R,
        "DELIVERY": _S,
        "PICKUP": _S,
        "DELIVERED": _S,
        "PARTIALLY_RETURNED": _S,
        "CANCELLED": _X,
        "RETURNED": _X,
    },
    Marketplace.UZUM: {
        "CREATED": _R,
        "PACKING": _R,
        "PENDING_DELIVERY": _R,
        "DELIVERING": _S,
        "DELIVERED": _S,
        "ACCEPTED_AT_DP": _S,
        "DELIVERED_TO_CUSTOMER_DELIVERY_POINT": _S,
        "COMPLETED": _S,
        "PENDING_CANCELLATION": _X,
        "CANCELED": _X,
        "RETURNED": _X,
    },
}


def state_of(market: Marketplace, status: str) -> OrderState:
    """The pool state of ``status`` on ``market``. WB answers two words (``supplierStatus/wbStatus``):
    a cancellation on either side releases, a shipment on either side ships."""
    table = STATUS_STATES[Marketplace(market)]
    words = [w for w in status.split("/") if w]
    states = {table.get(w, _R) for w in words} or {_R}
    if _X in states:
        return _X
    if _S in states:
        return _S
    return _R


@dataclass(frozen=True)
class Move:
    """What one order line's new reading does: its state afterwards and the units it takes off
    ``Product.stock`` (0 or the line's quantity, never more than once per line)."""

    state: OrderState
    stock_delta: int
    changed: bool  # the state differs from the stored one (or the line is new)


def move(
    stored: OrderState | None,
    seen: OrderState,
    quantity: int,
    *,
    ordered_at: datetime,
    tracking_since: datetime,
) -> Move:
    """The transition of a line from ``stored`` (None: never seen) to what the feed says now.

    * a new line that is reserved or released is recorded as it is;
    * a new line already shipped takes its units off the stock only if it was ordered after
      ``tracking_since`` (when this account's orders started to be followed): older shipments are
      already out of the seller's count;
    * ``reserved → shipped`` takes the units off once; ``reserved → released`` gives them back to
      the available pool (the stock itself never held them apart);
    * ``shipped`` and ``released`` are final: a later word changes nothing for the pool.
    """
    if quantity < 0:
        raise ValueError("an order line's quantity is never negative")
    if stored is None:
        takes = seen is OrderState.SHIPPED and ordered_at >= tracking_since
        return Move(seen, -quantity if takes else 0, True)
    if stored.final or seen is stored:
        return Move(stored, 0, False)
    return Move(seen, -quantity if seen is OrderState.SHIPPED else 0, True)


def available(on_hand: int, reserved: int) -> int:
    """Units a marketplace may be offered: the shelf minus what open orders hold (never negative)."""
    return max(0, on_hand - max(0, reserved))
