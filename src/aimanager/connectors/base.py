"""The ``Connector`` protocol and the normalised types every marketplace connector speaks.

Pipelines talk to marketplaces only through these types; each connector translates them to its API's
paths, bodies and bulk sizes (see ``reference/marketplace-apis.md``). Conventions:

* the seller's own article is the key everywhere (``offer_id``: WB ``vendorCode``, Ozon ``offer_id``,
  YM ``offerId``, Uzum ``sellerItemCode``/barcode); connectors map it to marketplace ids themselves;
* money is ``Decimal`` in the cabinet currency, times are timezone-aware UTC;
* bulk writes never raise for per-item problems: they return a ``PushReport`` whose ``failed`` list
  carries one ``ItemError`` per rejected item; exceptions (``connectors.errors``) mean the call as a
  whole failed (auth, transport, rate limit after retries).

Cards: marketplaces with a card API (WB, Ozon, YM) push them and answer with async tasks. **Uzum has no
card-create API**, so its connector *exports* an XLSX in the cabinet's bulk-template shape instead: its
``capabilities.cards`` is ``CardChannel.EXPORT`` and ``push_cards`` returns a ``PushReport`` with
``export_path`` set, every written offer in ``accepted`` and no tasks. Callers that must know the
difference check ``capabilities.cards``; callers that don't just read the report.

Example::

    from aimanager.connectors.registry import make_connector, parse_account

    account = parse_account(  # AccountConfigError naming the fields if anything is wrong
        Marketplace.OZON,
        credentials={"client_id": "123", "api_key": "…"},
        settings={"warehouse_id": "22001"},
    )
    conn = make_connector(account, base_url=None)  # production host; tests pass the sandbox URL
    try:
        report = await conn.update_prices([PriceUpdate(offer_id="A-1", price=Decimal("990"))])
        for err in report.failed:
            log.warning("price.rejected", offer_id=err.offer_id, code=err.code)
        report = await conn.push_cards([card])          # starts async tasks
        status = await conn.wait_task(report.tasks[0])  # follows one to its end
    finally:
        await conn.aclose()
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator

from aimanager.domain.cards import CardDraft
from aimanager.domain.enums import Marketplace
from aimanager.domain.orders import OrderState, state_of


def utc(value: datetime) -> datetime:
    """Return ``value`` as an aware UTC datetime (naive values are taken to be UTC already)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CardPush(_Model):
    """One card to create or update (an upsert keyed by ``offer_id``).

    ``title``/``description`` are Russian (what WB and Ozon take); ``title_uz``/``description_uz``
    carry the Uzbek (Latin) text for Uzum and Market Yandex Go. ``category_id`` is the marketplace's
    leaf category (WB ``subjectID``, Ozon ``description_category_id``, YM ``marketCategoryId``);
    Ozon also needs ``type_id``. ``extra`` holds marketplace-specific fields a connector documents.
    """

    offer_id: str
    category_id: str
    title: str
    description: str = ""
    title_uz: str | None = None
    description_uz: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)
    barcode: str | None = None
    brand: str | None = None
    price: Decimal | None = None
    old_price: Decimal | None = None
    type_id: str | None = None
    images: list[str] = Field(default_factory=list)
    length_mm: int | None = None
    width_mm: int | None = None
    height_mm: int | None = None
    weight_g: int | None = None
    extra: dict[str, Any] = Field(default_factory=dict)
    currency: str | None = None  # of ``price``/``old_price``; see ``PriceUpdate.currency``

    @classmethod
    def from_draft(cls, *, offer_id: str, category_id: str, draft: CardDraft, **fields: Any) -> CardPush:
        """Build a push from a generated ``CardDraft`` (ru → main text, uz → ``*_uz`` fields).

        Bullets are appended to the description as lines; attributes merge under ``fields`` overrides.
        """
        bullets = "\n".join(f"• {b}" for b in draft.ru.bullets)
        description = draft.ru.description + (f"\n\n{bullets}" if bullets else "")
        uz_bullets = "\n".join(f"• {b}" for b in draft.uz.bullets)
        description_uz = draft.uz.description + (f"\n\n{uz_bullets}" if uz_bullets else "")
        attributes = {**draft.attributes, **fields.pop("attributes", {})}
        return cls(
            offer_id=offer_id,
            category_id=category_id,
            title=draft.ru.title,
            description=description,
            title_uz=draft.uz.title,
            description_uz=description_uz,
            attributes=attributes,
            **fields,
        )


class PriceUpdate(_Model):
    """Set an offer's selling price; ``old_price`` is the struck-through pre-discount price.

    ``currency`` is the ISO code the amounts are in. Where a connector can read the account's own
    currency (Ozon) it refuses, with ``CurrencyNotConfirmed`` and before sending anything, an update in
    any other; ``None`` means "in the account's currency" (the caller vouches for it).
    """

    offer_id: str
    price: Decimal
    old_price: Decimal | None = None
    min_price: Decimal | None = None
    currency: str | None = None

    @field_validator("price")
    @classmethod
    def _positive(cls, value: Decimal) -> Decimal:
        if value <= 0:
            raise ValueError("price must be positive")
        return value


class StockUpdate(_Model):
    """Set the sellable quantity of an offer at a seller warehouse (``None``: the connector's default)."""

    offer_id: str
    quantity: int = Field(ge=0)
    warehouse_id: str | None = None


class StockLevel(_Model):
    """Stock as the marketplace reports it."""

    offer_id: str
    quantity: int
    warehouse_id: str | None = None
    reserved: int = 0


class SaleKind(enum.StrEnum):
    """What a ``SaleRecord`` row is."""

    ORDER = "order"
    SALE = "sale"
    RETURN = "return"


class SaleRecord(_Model):
    """One order/sale/return line with its money.

    ``revenue`` is what the buyer paid for ``quantity`` units; ``commission`` and ``logistics`` are
    the marketplace's charges for the line. ``fees_estimated`` is true when the API gives no per-line
    fees and the connector derived them from the per-offer tariff (Ozon analytics).
    """

    date: datetime
    offer_id: str
    quantity: int
    revenue: Decimal
    commission: Decimal = Decimal(0)
    logistics: Decimal = Decimal(0)
    kind: SaleKind = SaleKind.SALE
    order_id: str | None = None
    currency: str | None = None
    fees_estimated: bool = False

    @field_validator("date")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return utc(value)


OrderLine = SaleRecord
"""Orders and sales share one shape; ``kind`` tells them apart."""


class OrderEvent(_Model):
    """One FBS/DBS order line as the marketplace's order feed shows it now (the seller ships it).

    ``order_id`` is the marketplace's id of the line's order (WB assembly task, Ozon posting number,
    YM order id, Uzum order id); with ``offer_id`` it names the line. ``status`` is the marketplace's
    own word (WB: ``supplierStatus/wbStatus``); ``state`` what it means for the stock pool
    (``domain.orders.state_of``). ``changed_at`` is when the status last changed, where the API says.
    """

    marketplace: Marketplace
    order_id: str
    offer_id: str
    quantity: int = Field(ge=0)
    status: str
    ordered_at: datetime
    changed_at: datetime | None = None

    @field_validator("ordered_at", "changed_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else utc(value)

    @property
    def state(self) -> OrderState:
        return state_of(self.marketplace, self.status)


class FeeInfo(_Model):
    """The marketplace's fee model for one offer: commission percent and per-unit logistics."""

    offer_id: str
    commission_pct: Decimal
    logistics: Decimal | None = None
    currency: str | None = None


class ItemError(_Model):
    """Why one item of a bulk call was rejected (marketplace code and message kept verbatim)."""

    offer_id: str
    code: str
    message: str


class TaskState(enum.StrEnum):
    """Where an async marketplace task stands."""

    PENDING = "pending"
    DONE = "done"
    PARTIAL = "partial"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self is not TaskState.PENDING


class TaskRef(_Model):
    """A handle on an async task the marketplace started (Ozon ``task_id``, WB upload id or batch)."""

    marketplace: Marketplace
    kind: str
    task_id: str
    offer_ids: tuple[str, ...] = ()
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class TaskStatus(_Model):
    """A task's state with per-item outcome once known."""

    task: TaskRef
    state: TaskState
    accepted: list[str] = Field(default_factory=list)
    failed: list[ItemError] = Field(default_factory=list)


class PushReport(_Model):
    """Outcome of a bulk write.

    ``accepted`` lists offers the marketplace took (for async calls: took *into a task*; follow
    ``tasks`` for the final word). ``failed`` lists per-item rejections. ``requests`` counts HTTP
    calls made. ``export_path`` is set when the channel is an export file (Uzum cards).
    """

    accepted: list[str] = Field(default_factory=list)
    failed: list[ItemError] = Field(default_factory=list)
    tasks: list[TaskRef] = Field(default_factory=list)
    requests: int = 0
    export_path: Path | None = None

    @property
    def task_ids(self) -> list[str]:
        return [t.task_id for t in self.tasks]

    @property
    def ok(self) -> bool:
        return not self.failed

    def merged(self, other: PushReport) -> PushReport:
        """Concatenate two reports (used when a bulk call is split into batches)."""
        return PushReport(
            accepted=[*self.accepted, *other.accepted],
            failed=[*self.failed, *other.failed],
            tasks=[*self.tasks, *other.tasks],
            requests=self.requests + other.requests,
            export_path=other.export_path or self.export_path,
        )

    def with_statuses(self, statuses: Sequence[TaskStatus]) -> PushReport:
        """Fold finished task statuses in: items failed inside a task move from accepted to failed."""
        failed_ids = {e.offer_id for s in statuses for e in s.failed}
        return PushReport(
            accepted=[o for o in self.accepted if o not in failed_ids],
            failed=[*self.failed, *(e for s in statuses for e in s.failed)],
            tasks=self.tasks,
            requests=self.requests,
            export_path=self.export_path,
        )


class CardChannel(enum.StrEnum):
    """How cards reach a marketplace."""

    API = "api"
    EXPORT = "export"


@dataclass(frozen=True)
class Capabilities:
    """What a connector can do; pipelines check this instead of the marketplace name."""

    cards: CardChannel = CardChannel.API
    fees: bool = True
    per_warehouse_stock: bool = True
    async_prices: bool = False


@runtime_checkable
class Connector(Protocol):
    """One seller account on one marketplace. Create with ``registry.make_connector``; reuse it.

    A connector owns its HTTP client and rate-limit buckets, so one instance per seller account and
    process keeps the account within its limits. Every bulk method splits its input at the
    marketplace's documented batch size and paces the batches; none raises for per-item errors.

    Every connector class declares these methods with exactly these signatures (names, kinds and
    defaults of the parameters, annotations); ``tests/connectors/test_protocol.py`` checks it.
    """

    marketplace: Marketplace
    capabilities: Capabilities

    async def push_cards(self, cards: Sequence[CardPush], *, wait: bool = False) -> PushReport:
        """Create/update cards (or write the export file). ``wait=True`` follows the tasks to the end."""
        ...

    async def update_prices(self, prices: Sequence[PriceUpdate], *, wait: bool = False) -> PushReport:
        """Set prices. Sending the same prices twice is harmless (the marketplace keeps one state)."""
        ...

    async def update_stocks(self, stocks: Sequence[StockUpdate]) -> PushReport:
        """Set seller-warehouse (FBS/DBS) stock quantities."""
        ...

    async def read_stocks(self, offer_ids: Sequence[str] | None = None) -> list[StockLevel]:
        """Read stock for the given offers (``None``: every offer the account has)."""
        ...

    async def read_orders(self, date_from: date, date_to: date) -> list[SaleRecord]:
        """Orders/sales/returns in ``[date_from, date_to]`` (UTC days), all pages read."""
        ...

    async def read_fees(self, offer_ids: Sequence[str]) -> list[FeeInfo]:
        """Commission and logistics per offer where the API exposes them (empty if it does not)."""
        ...

    async def read_order_lines(self, since: datetime) -> list[OrderEvent]:
        """Seller-shipped (FBS) order lines created since ``since`` (UTC), with their current status,
        every page read. Callers pass the creation time of their oldest open order (or their last
        read, with some overlap) so status changes of open orders are seen again."""
        ...

    async def wait_task(self, task: TaskRef, *, max_wait: float | None = None) -> TaskStatus:
        """Poll an async task until it finishes; ``TaskTimeout`` after ``max_wait`` marketplace seconds."""
        ...

    async def aclose(self) -> None:
        """Close the HTTP client."""
        ...


@runtime_checkable
class ConfirmsOrders(Protocol):
    """A connector whose marketplace wants new FBS orders confirmed by the seller (Uzum cancels an
    order left unconfirmed). Optional: ``isinstance(conn, ConfirmsOrders)`` tells."""

    async def confirm_orders(self, order_ids: Sequence[str]) -> PushReport:
        """Confirm the orders; per-order refusals are ``failed`` items keyed by order id."""
        ...


def batches(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    """``items`` in consecutive slices of at most ``size`` (a marketplace's bulk limit)."""
    return [items[i : i + size] for i in range(0, len(items), size)]
