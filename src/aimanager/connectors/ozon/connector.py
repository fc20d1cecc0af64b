"""Ozon connector: product import tasks, prices, FBS stocks, stock/price reads, analytics.

Headers ``Client-Id`` + ``Api-Key``. Every call spends from the 50 rps per-Client-Id bucket and its
method's own bucket (stocks 80/min, analytics 1/min). Batch writes answer 200 with per-item
``errors``; those become ``ItemError``s. Per-item cooldowns are kept client-side: a product–warehouse
stock pair is sent at most once per 30 s (we wait), a product's price at most 10 times per hour
(an item that would need an hour's wait is refused locally with ``price_quota``).

Orders: ``/v1/analytics/data`` (dimensions sku + day; revenue, ordered_units; offset paging) is the
current read (the old ``/v3/finance/transaction/list`` was shut down 2026-09-08). It has no per-line
fees, so commission and logistics are estimated from each product's tariff in
``/v5/product/info/prices`` and flagged ``fees_estimated``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx

from aimanager.connectors.base import (
    Capabilities,
    CardChannel,
    CardPush,
    FeeInfo,
    ItemError,
    PriceUpdate,
    PushReport,
    SaleKind,
    SaleRecord,
    StockLevel,
    StockUpdate,
    TaskRef,
    TaskState,
    TaskStatus,
    batches,
)
from aimanager.connectors.errors import TaskTimeout
from aimanager.connectors.http import HttpClient, RetryPolicy
from aimanager.connectors.ozon import limits as L
from aimanager.connectors.ozon.config import OzonCredentials, OzonSettings
from aimanager.connectors.ratelimit import MarketClock, shared_limiters
from aimanager.domain.enums import Marketplace
from aimanager.errors import ConfigError

DESCRIPTION_ATTRIBUTE = 4191  # annotation/description [U: community code, not in the spec]


def _money(value: Decimal | None) -> str:
    return "0" if value is None else format(value.normalize(), "f")


def _item_errors(offer_id: str, errors: list[dict[str, Any]]) -> list[ItemError]:
    return [
        ItemError(
            offer_id=offer_id,
            code=str(e.get("code") or "error"),
            message=str(e.get("message") or e.get("description") or ""),
        )
        for e in errors
    ]


class OzonConnector:
    """One Ozon seller (Client-Id); its settings are ``OzonSettings`` (``config``)."""

    marketplace = Marketplace.OZON
    capabilities = Capabilities(
        cards=CardChannel.API, fees=True, per_warehouse_stock=True, async_prices=False
    )

    def __init__(
        self,
        credentials: OzonCredentials,
        settings: OzonSettings | None = None,
        *,
        base_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        s = settings or OzonSettings()
        self.settings = s
        clock = MarketClock(s.time_scale)
        key = ("ozon", credentials.fingerprint(), base_url or "prod")
        limiters = shared_limiters(key, L.LIMITS, clock)
        self.http = HttpClient(
            marketplace="ozon",
            base_url=base_url or L.BASE_URL,
            auth_headers={
                "Client-Id": credentials.client_id,
                "Api-Key": credentials.api_key.get_secret_value(),
            },
            limiters=limiters,
            transport=transport,
            timeout=s.timeout,
            retry=RetryPolicy(attempts=s.retry_attempts),
        )
        self.clock = clock
        self.poll_interval = s.poll_interval
        self.task_timeout = s.task_timeout
        self.page_size = min(s.page_size, L.READ_PAGE)
        self._warehouse: str | None = s.warehouse_id
        # Cooldowns live with the limiters so that every connector of the account shares them.
        self._pairs = limiters.window("stock_pair", 1, L.STOCK_PAIR_PERIOD)
        self._price_slots = limiters.window("price", L.PRICE_CHANGES_PER_HOUR, 3600.0)

    def __repr__(self) -> str:
        return f"OzonConnector({self.http!r})"

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _post(self, path: str, body: dict[str, Any], group: str = "default") -> Any:
        groups = ("global",) if group == "default" else (group, "global")
        return await self.http.json("POST", path, group=groups, json=body)

    # --- cards -----------------------------------------------------------------------------------
    def _import_item(self, card: CardPush) -> dict[str, Any]:
        attributes = [
            {"id": DESCRIPTION_ATTRIBUTE, "complex_id": 0, "values": [{"value": card.description}]}
        ] + [
            {"id": int(k), "complex_id": 0, "values": [{"value": v}]}
            for k, v in card.attributes.items()
            if k.isdigit()
        ]
        item: dict[str, Any] = {
            "offer_id": card.offer_id,
            "name": card.title,
            "description_category_id": int(card.category_id),
            "type_id": int(card.type_id) if card.type_id else 0,
            "price": _money(card.price),
            "old_price": _money(card.old_price),
            "currency_code": self.settings.currency_code,
            "vat": self.settings.vat,
            "images": card.images,
            "attributes": attributes,
            "depth": card.length_mm or 0,
            "width": card.width_mm or 0,
            "height": card.height_mm or 0,
            "dimension_unit": "mm",
            "weight": card.weight_g or 0,
            "weight_unit": "g",
        }
        if card.barcode:
            item["barcode"] = card.barcode
        return item

    async def push_cards(self, cards: Sequence[CardPush], *, wait: bool = False) -> PushReport:
        """``/v3/product/import`` in batches of ≤100 → one ``task_id`` each (upsert by offer_id)."""
        report = PushReport()
        for batch in batches(list(cards), L.IMPORT_BATCH):
            sent_at = datetime.now(UTC)
            answer = await self._post("/v3/product/import", {"items": [self._import_item(c) for c in batch]})
            task = TaskRef(
                marketplace=self.marketplace,
                kind="import",
                task_id=str(answer["result"]["task_id"]),
                offer_ids=tuple(c.offer_id for c in batch),
                created_at=sent_at,
            )
            report = report.merged(PushReport(accepted=[c.offer_id for c in batch], tasks=[task], requests=1))
        if wait and report.tasks:
            report = report.with_statuses([await self.wait_task(t) for t in report.tasks])
        return report

    async def task_status(self, task: TaskRef) -> TaskStatus:
        """One look at ``/v1/product/import/info``."""
        answer = await self._post("/v1/product/import/info", {"task_id": int(task.task_id)})
        items = (answer.get("result") or {}).get("items") or []
        if not items or any(i.get("status") == "pending" for i in items):
            return TaskStatus(task=task, state=TaskState.PENDING)
        accepted = [i["offer_id"] for i in items if i.get("status") in ("imported", "skipped")]
        failed = [
            e
            for i in items
            if i.get("status") == "failed"
            for e in (
                _item_errors(i["offer_id"], i.get("errors") or [])
                or [ItemError(offer_id=i["offer_id"], code="failed", message="")]
            )
        ]
        state = TaskState.DONE if not failed else TaskState.PARTIAL if accepted else TaskState.FAILED
        return TaskStatus(task=task, state=state, accepted=accepted, failed=failed)

    async def wait_task(self, task: TaskRef, *, max_wait: float | None = None) -> TaskStatus:
        """Poll the import task every ``poll_interval`` until no item is ``pending``."""
        deadline = self.clock.now() + (self.task_timeout if max_wait is None else max_wait)
        while True:
            status = await self.task_status(task)
            if status.state.finished:
                return status
            if self.clock.now() >= deadline:
                raise TaskTimeout("ozon import task still pending", task_id=task.task_id)
            await self.clock.sleep(self.poll_interval)

    # --- prices ----------------------------------------------------------------------------------
    async def update_prices(self, prices: Sequence[PriceUpdate], *, wait: bool = False) -> PushReport:
        """``/v1/product/import/prices`` in batches of ≤1,000 (synchronous; ``wait`` is moot)."""
        failed: list[ItemError] = []
        ready: list[PriceUpdate] = []
        for p in prices:
            if self._price_slots.wait_for(p.offer_id) > L.MAX_PRICE_WAIT:
                failed.append(ItemError(offer_id=p.offer_id, code="price_quota", message="10 changes/h used"))
            else:
                ready.append(p)
        report = PushReport(failed=failed)
        for batch in batches(ready, L.PRICES_BATCH):
            await self._price_slots.acquire(p.offer_id for p in batch)
            body = {"prices": [self._price_item(p) for p in batch]}
            try:
                answer = await self._post("/v1/product/import/prices", body)
            finally:
                self._price_slots.confirm(p.offer_id for p in batch)
            report = report.merged(self._per_item(answer, len(batch)))
        return report

    def _price_item(self, p: PriceUpdate) -> dict[str, Any]:
        item = {
            "offer_id": p.offer_id,
            "price": _money(p.price),
            "old_price": _money(p.old_price),
            "currency_code": self.settings.currency_code,
        }
        if p.min_price is not None:
            item["min_price"] = _money(p.min_price)
        return item

    @staticmethod
    def _per_item(answer: Any, sent: int) -> PushReport:
        accepted: list[str] = []
        failed: list[ItemError] = []
        for row in answer.get("result") or []:
            if row.get("updated") and not row.get("errors"):
                accepted.append(row["offer_id"])
            else:
                failed.extend(_item_errors(row["offer_id"], row.get("errors") or [{"code": "not_updated"}]))
        return PushReport(accepted=accepted, failed=failed, requests=1)

    # --- stocks ----------------------------------------------------------------------------------
    async def _default_warehouse(self) -> str:
        if self._warehouse is None:
            answer = await self._post("/v1/warehouse/list", {})
            found = answer.get("result") or []
            if not found:
                raise ConfigError("the Ozon account has no FBS warehouse")
            self._warehouse = str(found[0]["warehouse_id"])
        return self._warehouse

    async def update_stocks(self, stocks: Sequence[StockUpdate]) -> PushReport:
        """``/v2/products/stocks``: ≤100 pairs per call, 80 calls/min, each pair once per 30 s."""
        latest: dict[tuple[str, str], StockUpdate] = {}
        for s in stocks:  # the last word per pair wins; sending a pair twice in a batch is refused
            latest[(s.offer_id, s.warehouse_id or await self._default_warehouse())] = s
        report = PushReport()
        pairs = list(latest.items())
        for batch in batches(pairs, L.STOCKS_BATCH):
            await self._pairs.acquire(f"{o}@{w}" for (o, w), _ in batch)
            body = {
                "stocks": [
                    {"offer_id": o, "stock": s.quantity, "warehouse_id": int(w)} for (o, w), s in batch
                ]
            }
            try:
                answer = await self._post("/v2/products/stocks", body, group="stocks")
            finally:
                self._pairs.confirm(f"{o}@{w}" for (o, w), _ in batch)
            report = report.merged(self._per_item(answer, len(batch)))
        return report

    async def _cursor_read(self, path: str, offer_ids: Sequence[str] | None) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = ""
        while True:
            flt: dict[str, Any] = {"visibility": "ALL"}
            if offer_ids is not None:
                flt["offer_id"] = list(offer_ids)
            page = await self._post(path, {"filter": flt, "cursor": cursor, "limit": self.page_size})
            batch = page.get("items") or []
            items.extend(batch)
            cursor = page.get("cursor") or ""
            if not cursor or len(batch) < self.page_size:
                return items

    async def read_stocks(self, offer_ids: Sequence[str] | None = None) -> list[StockLevel]:
        """``/v4/product/info/stocks`` (cursor pages); FBS stock per offer."""
        levels = []
        for batch in batches(list(offer_ids), L.READ_PAGE) if offer_ids is not None else [None]:
            for item in await self._cursor_read("/v4/product/info/stocks", batch):
                for st in item.get("stocks") or []:
                    if st.get("type") == "fbs":
                        warehouses = st.get("warehouse_ids") or []
                        levels.append(
                            StockLevel(
                                offer_id=item["offer_id"],
                                quantity=int(st.get("present", 0)),
                                reserved=int(st.get("reserved", 0)),
                                warehouse_id=str(warehouses[0]) if len(warehouses) == 1 else None,
                            )
                        )
        return levels

    # --- fees and analytics ----------------------------------------------------------------------
    async def read_fees(self, offer_ids: Sequence[str]) -> list[FeeInfo]:
        """``/v5/product/info/prices`` ``commissions``: FBS sale % and delivery-to-customer amount."""
        fees = []
        for batch in batches(list(offer_ids), L.READ_PAGE):
            for item in await self._cursor_read("/v5/product/info/prices", batch):
                com = item.get("commissions") or {}
                if com.get("sales_percent_fbs") is None:
                    continue
                fees.append(
                    FeeInfo(
                        offer_id=item["offer_id"],
                        commission_pct=Decimal(str(com["sales_percent_fbs"])),
                        logistics=Decimal(str(com.get("fbs_deliv_to_customer_amount") or 0)),
                        currency=(item.get("price") or {}).get("currency_code"),
                    )
                )
        return fees

    async def read_orders(self, date_from: date, date_to: date) -> list[SaleRecord]:
        """Ordered units and revenue per SKU per day from ``/v1/analytics/data`` (offset pages), with
        fees estimated from the product tariffs (see the module docstring)."""
        rows: list[tuple[str, str, Decimal, int]] = []
        offset = 0
        while True:
            body = {
                "date_from": date_from.isoformat(),
                "date_to": date_to.isoformat(),
                "dimension": ["sku", "day"],
                "metrics": ["revenue", "ordered_units"],
                "limit": self.page_size,
                "offset": offset,
            }
            answer = await self._post("/v1/analytics/data", body, group="analytics")
            data = (answer.get("result") or {}).get("data") or []
            # Thousands of lines per page: parsed in a thread so the event loop keeps serving.
            rows.extend(await asyncio.to_thread(_analytics_rows, data))
            if len(data) < self.page_size:
                break
            offset += len(data)
        if not rows:
            return []
        by_sku = {}
        for item in await self._cursor_read("/v4/product/info/stocks", None):
            for st in item.get("stocks") or []:
                by_sku[str(st.get("sku"))] = item["offer_id"]
        offers = sorted({by_sku[sku] for sku, *_ in rows if sku in by_sku})
        fees = {f.offer_id: f for f in await self.read_fees(offers)} if offers else {}
        return await asyncio.to_thread(_sale_records, rows, by_sku, fees)


def from_config(
    credentials: OzonCredentials,
    settings: OzonSettings,
    base_url: str | None,
    transport: httpx.AsyncBaseTransport | None,
) -> OzonConnector:
    """Registry entry point (see ``registry.make_connector``)."""
    return OzonConnector(credentials, settings, base_url=base_url, transport=transport)


def _analytics_rows(data: list[dict[str, Any]]) -> list[tuple[str, str, Decimal, int]]:
    """``/v1/analytics/data`` lines as (sku, day, revenue, units)."""
    rows = []
    for d in data:
        sku, day = d["dimensions"][0]["id"], d["dimensions"][1]["id"]
        rows.append((sku, day, Decimal(str(d["metrics"][0])), int(d["metrics"][1])))
    return rows


def _sale_records(
    rows: list[tuple[str, str, Decimal, int]], by_sku: dict[str, str], fees: dict[str, FeeInfo]
) -> list[SaleRecord]:
    """Order lines with their fees estimated from the product tariffs."""
    records = []
    for sku, day, revenue, units in rows:
        offer = by_sku.get(sku, f"sku:{sku}")
        fee = fees.get(offer)
        records.append(
            SaleRecord(
                date=datetime.fromisoformat(day).replace(tzinfo=UTC),
                offer_id=offer,
                quantity=units,
                revenue=revenue,
                commission=(revenue * fee.commission_pct / 100).quantize(Decimal("0.01"))
                if fee
                else Decimal(0),
                logistics=(fee.logistics or Decimal(0)) * units if fee else Decimal(0),
                kind=SaleKind.ORDER,
                fees_estimated=True,
            )
        )
    return records
