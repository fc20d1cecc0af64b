"""FBS orders in a marketplace sandbox: buyers at a realistic rate, the order book, and a timeline.

Every marketplace sandbox gets an ``OrderDesk`` (``install_orders``). While an offer *shows* stock,
buyers order it as a Poisson process of ``per_day`` orders per offer per marketplace day; each order
takes its units off what the marketplace shows at once (as WB, Ozon, YM and Uzum do with FBS stock);
``cancel_share`` of them are cancelled by the buyer before shipping, the others ship ``ship_after``
marketplace seconds after they were placed. A buyer who comes while the offer shows 0 finds nothing
to order: the demand is *refused* and recorded — the marketplace never sells what it does not show.
Where the marketplace wants the seller to confirm an order (``needs_confirm``: Uzum), an order not
confirmed by its shipping time is cancelled instead.

Time is the sandbox's clock (marketplace seconds); the desk advances lazily, at the start and at the
end of every API request of the account (a middleware), so orders between two requests are placed in
time order against what the offer showed then, before the next request reads or writes anything. Each
change of a shown quantity, each order, cancellation and shipment is kept in the account's
``timeline`` — what a test merges across marketplaces to check that no marketplace ever showed more
units than the seller's pool held.

Control (operator endpoints, outside the gate, like ``/_sandbox/seed``):

* ``POST /_sandbox/orders/flow`` ``{"per_day"?, "cancel_share"?, "ship_after"?, "max_units"?,
  "seed"?}`` → the flow now in force (changeable while running);
* ``POST /_sandbox/orders/place`` ``{"token", "offer_id", "quantity"?, "cancel"?}`` → one order now
  (``{"order": {...}}`` or ``{"refused": "..."}``);
* ``POST /_sandbox/orders/settle`` ``{"token", "order_id", "status": "shipped"|"cancelled"}`` → the
  order, shipped or cancelled now (a test's shortcut; a ``needs_confirm`` order ships confirmed);
* ``GET /_sandbox/orders?token=…`` → ``{"orders": [...], "timeline": [...], "refused": n}``;
* ``POST|GET /_sandbox/orders/notify`` — where the marketplaces that notify (Ozon, YM) send each new
  order and cancellation, in their own shape (``common.notify``).
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from fastapi import FastAPI, HTTPException, Request, Response
from pydantic import BaseModel

from aimanager_sandbox.common.sandbox import Sandbox

if TYPE_CHECKING:
    from aimanager_sandbox.common.notify import Notifier

TIMELINE_MAX = 200_000


class Shelf(Protocol):
    """How a marketplace's account shows stock (each marketplace's ``routes_fbs`` has one)."""

    def offers(self, acc: Any) -> list[str]: ...

    def shown(self, acc: Any, offer_id: str) -> int: ...

    def take(self, acc: Any, offer_id: str, quantity: int) -> None: ...


@dataclass
class OrderFlow:
    """The buyers: ``per_day`` orders per offer per marketplace day (0: none)."""

    per_day: float = 0.0
    cancel_share: float = 0.1
    ship_after: float = 4 * 3600.0
    max_units: int = 1
    seed: int = 11


@dataclass
class SandboxOrder:
    """One order line (the sandboxes' orders have one line each)."""

    id: int
    offer_id: str
    quantity: int
    status: str  # new | confirmed | shipped | cancelled
    at: float  # marketplace seconds when placed
    created: datetime
    updated: datetime
    due: float  # when it ships, or is cancelled if ``cancels``
    cancels: bool
    reason: str = ""


@dataclass
class OrderBook:
    """One account's orders and what its offers showed over time."""

    orders: dict[int, SandboxOrder] = field(default_factory=dict)
    last: float | None = None
    shown: dict[str, int] = field(default_factory=dict)
    timeline: deque[tuple[float, str, str, int]] = field(default_factory=lambda: deque(maxlen=TIMELINE_MAX))
    refused: int = 0
    token: str = ""


@dataclass
class OrderDesk:
    """The order books of one sandbox app (one per account token) and the flow that feeds them."""

    sandbox: Sandbox
    shelf: Shelf
    needs_confirm: bool = False
    flow: OrderFlow = field(default_factory=OrderFlow)
    books: dict[str, OrderBook] = field(default_factory=dict)
    next_id: int = 4_000_000
    rng: random.Random = field(default_factory=lambda: random.Random(11))
    notifier: Notifier | None = None  # where new orders and cancellations are POSTed (``common.notify``)

    # --- time ---------------------------------------------------------------------------------------
    def wall(self, at: float) -> datetime:
        """The UTC time of marketplace instant ``at`` (the product reads order times as real times)."""
        ago = (self.sandbox.now() - at) * self.sandbox.config.time_scale
        return datetime.now(UTC) - timedelta(seconds=max(0.0, ago))

    def book(self, token: str) -> OrderBook:
        if token not in self.books:
            self.books[token] = OrderBook(token=token)
        return self.books[token]

    def advance(self, token: str) -> OrderBook:
        """Everything that happened to ``token``'s orders up to now, in time order."""
        acc = self.sandbox.account(token)  # outside the lock: it takes it itself
        with self.sandbox.lock:
            return self._advance(token, acc, self.sandbox.now())

    def _advance(self, token: str, acc: Any, now: float) -> OrderBook:
        book = self.book(token)
        last = now if book.last is None else book.last
        events: list[tuple[float, int, str, int]] = []  # (at, order, offer) — order -1: a new buyer
        dt = now - last
        if self.flow.per_day > 0 and dt > 0:
            lam = self.flow.per_day * dt / 86400.0
            for offer in self.shelf.offers(acc):
                for _ in range(_poisson(self.rng, lam)):
                    events.append((last + self.rng.random() * dt, -1, offer, 0))
        for order in book.orders.values():
            if order.status in ("new", "confirmed") and order.due <= now:
                events.append((max(order.due, last), order.id, order.offer_id, 0))
        self._observe(book, acc, last)
        for at, order_id, offer, _ in sorted(events):
            if order_id < 0:
                units = self.rng.randint(1, max(1, self.flow.max_units))
                self._place(book, acc, offer, units, at, cancel=self.rng.random() < self.flow.cancel_share)
            else:
                self._settle(book, book.orders[order_id], at, acc)
            self._observe(book, acc, at)
        book.last = now
        self._observe(book, acc, now)
        return book

    # --- orders --------------------------------------------------------------------------------------
    def place(self, token: str, offer_id: str, quantity: int, *, cancel: bool = False) -> SandboxOrder | None:
        """One order now (a test's buyer); None when the offer shows fewer units (refused)."""
        self.advance(token)
        acc = self.sandbox.account(token)
        with self.sandbox.lock:
            book = self.book(token)
            now = self.sandbox.now()
            order = self._place(book, acc, offer_id, quantity, now, cancel=cancel)
            self._observe(book, acc, now)
            return order

    def confirm(self, token: str, order_id: int) -> SandboxOrder | None:
        """The seller confirms a new order (Uzum); None if there is no such order."""
        self.advance(token)
        with self.sandbox.lock:
            order = self.book(token).orders.get(order_id)
            if order is not None and order.status == "new":
                order.status, order.updated = "confirmed", datetime.now(UTC)
            return order

    def settle(self, token: str, order_id: int, status: str) -> SandboxOrder | None:
        """Ship or cancel an open order now (a test's shortcut through its lifecycle)."""
        if status not in ("shipped", "cancelled"):
            raise ValueError(f"settle to shipped or cancelled, not {status!r}")
        self.advance(token)
        acc = self.sandbox.account(token)  # outside the lock: it takes it itself
        with self.sandbox.lock:
            book = self.book(token)
            order = book.orders.get(order_id)
            if order is not None and order.status in ("new", "confirmed"):
                order.cancels = status == "cancelled"
                order.status = "confirmed" if order.status == "new" and not order.cancels else order.status
                self._settle(book, order, self.sandbox.now(), acc)
            return order

    def _place(
        self, book: OrderBook, acc: Any, offer: str, units: int, at: float, *, cancel: bool
    ) -> SandboxOrder | None:
        if self.shelf.shown(acc, offer) < units:
            book.refused += 1
            book.timeline.append((at, offer, "refused", units))
            return None
        self.shelf.take(acc, offer, units)
        self.next_id += 1
        ship_after = self.flow.ship_after
        due = at + (self.rng.random() * ship_after if cancel else ship_after)
        created = self.wall(at)
        order = SandboxOrder(self.next_id, offer, units, "new", at, created, created, due, cancel)
        book.orders[order.id] = order
        book.timeline.append((at, offer, "order", units))
        if self.notifier is not None:
            self.notifier.emit(book.token, acc, order, "created")
        return order

    def _settle(self, book: OrderBook, order: SandboxOrder, at: float, acc: Any) -> None:
        if order.cancels or (self.needs_confirm and order.status == "new"):
            order.status = "cancelled"
            order.reason = "buyer cancelled" if order.cancels else "not confirmed by the seller in time"
            book.timeline.append((at, order.offer_id, "cancel", order.quantity))
        else:
            order.status = "shipped"
            book.timeline.append((at, order.offer_id, "ship", order.quantity))
        order.updated = self.wall(at)
        if self.notifier is not None and order.status == "cancelled":
            self.notifier.emit(book.token, acc, order, "cancelled")

    def _observe(self, book: OrderBook, acc: Any, at: float) -> None:
        for offer in self.shelf.offers(acc):
            qty = self.shelf.shown(acc, offer)
            if book.shown.get(offer) != qty:
                book.shown[offer] = qty
                book.timeline.append((at, offer, "shown", qty))

    def orders_of(self, token: str) -> list[SandboxOrder]:
        """``token``'s orders, oldest first (after advancing to now)."""
        book = self.advance(token)
        return sorted(book.orders.values(), key=lambda o: o.at)


def _poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth's method for the small means of short intervals; normal beyond 30)."""
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


# --- wiring --------------------------------------------------------------------------------------------
def install_orders(app: FastAPI, shelf: Shelf, *, needs_confirm: bool = False) -> OrderDesk:
    """Give ``app`` (after ``gate.install``) an order desk over ``shelf``, its clock middleware and its
    control endpoints."""
    sandbox: Sandbox = app.state.sandbox
    desk = OrderDesk(sandbox, shelf, needs_confirm=needs_confirm)
    app.state.orders = desk
    app.add_api_route("/_sandbox/orders", orders_of, methods=["GET"], include_in_schema=False)
    app.add_api_route("/_sandbox/orders/flow", set_flow, methods=["POST"], include_in_schema=False)
    app.add_api_route("/_sandbox/orders/place", place, methods=["POST"], include_in_schema=False)
    app.add_api_route("/_sandbox/orders/settle", settle, methods=["POST"], include_in_schema=False)
    app.middleware("http")(order_clock)
    return desk


async def order_clock(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Advance the account's orders before and after each of its API requests."""
    if request.url.path.startswith("/_sandbox"):
        return await call_next(request)
    token = request.app.state.hooks.account_of(request)
    desk: OrderDesk = request.app.state.orders
    if token:
        desk.advance(token)
    response = await call_next(request)
    if token:
        desk.advance(token)
    return response


class FlowBody(BaseModel):
    per_day: float | None = None
    cancel_share: float | None = None
    ship_after: float | None = None
    max_units: int | None = None
    seed: int | None = None


class SettleBody(BaseModel):
    token: str
    order_id: int
    status: str


class PlaceBody(BaseModel):
    token: str
    offer_id: str
    quantity: int = 1
    cancel: bool = False


async def set_flow(request: Request, body: FlowBody) -> dict[str, Any]:
    desk: OrderDesk = request.app.state.orders
    # Every book is brought up to now first: the new rate applies from this moment on.
    for token in list(desk.books):
        desk.advance(token)
    with desk.sandbox.lock:
        for key, value in body.model_dump(exclude_none=True).items():
            setattr(desk.flow, key, value)
        if body.seed is not None:
            desk.rng.seed(body.seed)
    return asdict(desk.flow)


async def place(request: Request, body: PlaceBody) -> dict[str, Any]:
    desk: OrderDesk = request.app.state.orders
    order = desk.place(body.token, body.offer_id, body.quantity, cancel=body.cancel)
    if order is None:
        return {"refused": f"{body.offer_id} shows fewer than {body.quantity} units"}
    return {"order": _order_json(order)}


async def settle(request: Request, body: SettleBody) -> dict[str, Any]:
    desk: OrderDesk = request.app.state.orders
    try:
        order = desk.settle(body.token, body.order_id, body.status)
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    if order is None:
        raise HTTPException(status_code=404, detail=f"no order {body.order_id}")
    return {"order": _order_json(order)}


async def orders_of(request: Request, token: str) -> dict[str, Any]:
    desk: OrderDesk = request.app.state.orders
    orders = desk.orders_of(token)
    book = desk.book(token)
    with desk.sandbox.lock:
        timeline = [list(e) for e in book.timeline]
    return {"orders": [_order_json(o) for o in orders], "timeline": timeline, "refused": book.refused}


def _order_json(o: SandboxOrder) -> dict[str, Any]:
    return {
        "id": o.id,
        "offer_id": o.offer_id,
        "quantity": o.quantity,
        "status": o.status,
        "at": o.at,
        "created": o.created.isoformat(),
        "updated": o.updated.isoformat(),
        "reason": o.reason,
    }
