"""Ozon connector: product import tasks, prices, FBS stocks, stock/price reads, analytics.

Headers ``Client-Id`` + ``Api-Key``. Every call spends from the 50 rps per-Client-Id bucket and its
method's own bucket (stocks 80/min, analytics 1/min). Batch writes answer 200 with per-item
``errors``; those become ``ItemError``s. Per-item cooldowns are kept client-side: a product–warehouse
stock pair is sent at most once per 30 s (we wait), a product's price at most 10 times per hour
(an item that would need an hour's wait is refused locally with ``price_quota``).

Orders: ``/v1/analytics/data`` (dimensions sku + day; revenue, ordered_units; offset paging) is the
current read (the old ``/v3/finance/transaction/list`` was shut down 2026-09-08). It has no per-line
fees, so commission and logistics are estimated from each product's tariff in
``/v5/product/info/prices`` (numbers, not v4's strings) and flagged ``fees_estimated``.

Currency: the cabinet's currency is read from the account (``account_currency``: the ``currency_code``
of its prices in ``/v5/product/info/prices``), never assumed; prices and card prices go out in it, and
an update that names another currency raises ``CurrencyNotConfirmed`` before anything is sent. Fees and
order lines carry it, so amounts are shown in the partner's currency whatever it turns out to be.

Warehouses: the seller's FBS warehouses come from the cursor-paged ``/v2/warehouse/list`` (v1 is
superseded).
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
    OrderEvent,
    PriceUpdate,
    PushReport,
    SaleRecord,
    StockLevel,
    StockUpdate,
    TaskRef,
    TaskState,
    TaskStatus,
    batches,
)
from aimanager.connectors.errors import CurrencyNotConfirmed, TaskTimeout
from aimanager.connectors.http import HttpClient, RetryPolicy
from aimanager.connectors.ozon import finance as ozon_finance
from aimanager.connectors.ozon import limits as L
from aimanager.connectors.ozon import orders as fbs_orders
from aimanager.connectors.ozon import prices as ozon_prices
from aimanager.connectors.ozon.config import OzonCredentials, OzonSettings
from aimanager.connectors.ozon.wire import analytics_rows, import_item, item_errors, price_item, sale_records
from aimanager.connectors.ratelimit import MarketClock, shared_limiters
from aimanager.domain.enums import Marketplace
from aimanager.errors import ConfigError
from aimanager.logs import get_logger

log = get_logger(__name__)


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
        self._currency: str | None = None
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

    # --- currency --------------------------------------------------------------------------------
    async def account_currency(self) -> str:
        """The cabinet's currency as the account reports it (the ``currency_code`` of its prices),
        read once. A ``currency_code`` setting must agree with it; an account with no priced product
        yet falls back to the setting. ``CurrencyNotConfirmed`` when neither says."""
        if self._currency is not None:
            return self._currency
        page = await self._post(
            "/v5/product/info/prices", {"filter": {"visibility": "ALL"}, "cursor": "", "limit": 1}
        )
        items = page.get("items") or []
        reported = ((items[0].get("price") or {}).get("currency_code") or None) if items else None
        pinned = self.settings.currency_code
        if reported and pinned and reported != pinned:
            raise CurrencyNotConfirmed(
                f"ozon account prices are in {reported}, the account settings say {pinned}",
                marketplace="ozon",
                currency=pinned,
                confirmed=reported,
            )
        currency = reported or pinned
        if currency is None:
            raise CurrencyNotConfirmed(
                "ozon account currency unknown: no priced product to read it from, no currency_code setting",
                marketplace="ozon",
                currency=None,
                confirmed=None,
            )
        if currency not in L.DOCUMENTED_CURRENCIES:
            log.warning("ozon.currency.undocumented", currency=currency)
        self._currency = currency
        return currency

    async def _confirmed(self, stated: set[str | None]) -> str:
        """The account currency, after checking that every amount about to go out is in it."""
        currency = await self.account_currency()
        foreign = sorted(c for c in stated if c is not None and c != currency)
        if foreign:
            raise CurrencyNotConfirmed(
                f"ozon account prices are in {currency}; refusing to send prices in {', '.join(foreign)}",
                marketplace="ozon",
                currency=foreign[0],
                confirmed=currency,
            )
        return currency

    # --- cards -----------------------------------------------------------------------------------
    async def push_cards(self, cards: Sequence[CardPush], *, wait: bool = False) -> PushReport:
        """``/v3/product/import`` in batches of ≤100 → one ``task_id`` each (upsert by offer_id)."""
        report = PushReport()
        currency = await self._confirmed({c.currency for c in cards})
        for batch in batches(list(cards), L.IMPORT_BATCH):
            sent_at = datetime.now(UTC)
            body = {"items": [import_item(c, currency, self.settings.vat) for c in batch]}
            answer = await self._post("/v3/product/import", body)
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
                item_errors(i["offer_id"], i.get("errors") or [])
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
        """``/v1/product/import/prices`` in batches of ≤1,000 (synchronous; ``wait`` is moot), in the
        account's currency; ``CurrencyNotConfirmed`` (nothing sent) if an update names another."""
        currency = await self._confirmed({p.currency for p in prices})
        failed: list[ItemError] = []
        ready: list[PriceUpdate] = []
        await self._price_slots.refresh(p.offer_id for p in prices)  # other hosts' changes too
        for p in prices:
            if self._price_slots.wait_for(p.offer_id) > L.MAX_PRICE_WAIT:
                failed.append(ItemError(offer_id=p.offer_id, code="price_quota", message="10 changes/h used"))
            else:
                ready.append(p)
        report = PushReport(failed=failed)
        for batch in batches(ready, L.PRICES_BATCH):
            await self._price_slots.acquire(p.offer_id for p in batch)
            body = {"prices": [price_item(p, currency) for p in batch]}
            try:
                answer = await self._post("/v1/product/import/prices", body)
            finally:
                self._price_slots.confirm(p.offer_id for p in batch)
            report = report.merged(self._per_item(answer, len(batch)))
        return report

    @staticmethod
    def _per_item(answer: Any, sent: int) -> PushReport:
        accepted: list[str] = []
        failed: list[ItemError] = []
        for row in answer.get("result") or []:
            if row.get("updated") and not row.get("errors"):
                accepted.append(row["offer_id"])
            else:
                failed.extend(item_errors(row["offer_id"], row.get("errors") or [{"code": "not_updated"}]))
        return PushReport(accepted=accepted, failed=failed, requests=1)

    # --- stocks ----------------------------------------------------------------------------------
    async def _default_warehouse(self) -> str:
        """The first of the seller's warehouses (``/v2/warehouse/list``, cursor-paged)."""
        cursor = ""
        while self._warehouse is None:
            body: dict[str, Any] = {"limit": L.WAREHOUSE_PAGE}
            if cursor:
                body["cursor"] = cursor
            answer = await self._post("/v2/warehouse/list", body)
            found = answer.get("warehouses") or []
            if found:
                self._warehouse = str(found[0]["warehouse_id"])
            elif answer.get("has_next") and answer.get("cursor"):
                cursor = answer["cursor"]
            else:
                raise ConfigError("the Ozon account has no FBS warehouse")
        return self._warehouse

    async def update_stocks(self, stocks: Sequence[StockUpdate]) -> PushReport:
        """``/v2/products/stocks``: ≤100 pairs per call, 80 calls/min, each pair once per 30 s."""
        latest: dict[tuple[str, str], StockUpdate] = {}
        for s in stocks:  # the last word per pair wins; sending a pair twice in a batch is refused
            latest[(s.offer_id, s.warehouse_id or await self._default_warehouse())] = s
        report = PushReport()
        pairs = list(latest.items())
        for resend in range(L.STOCK_PACE_RESENDS + 1):
            paced: list[tuple[tuple[str, str], StockUpdate]] = []
            for batch in batches(pairs, L.STOCKS_BATCH):
                got = await self._send_stocks(batch)
                # A pair refused for pace was updated by someone else within Ozon's 30 s (another
                # process, the cabinet, a send that arrived later than we reserved for): our window
                # now starts at that answer, so sending it again after the window is safe.
                late = {e.offer_id for e in got.failed if L.is_pace_refusal(e.code)}
                if resend < L.STOCK_PACE_RESENDS and late:
                    paced += [pair for pair in batch if pair[0][0] in late]
                    got = got.model_copy(update={"failed": [e for e in got.failed if e.offer_id not in late]})
                report = report.merged(got)
            if not paced:
                break
            log.info("ozon.stocks.paced", pairs=len(paced), resend=resend + 1)
            pairs = paced
        return report

    async def _send_stocks(self, batch: Sequence[tuple[tuple[str, str], StockUpdate]]) -> PushReport:
        keys = [f"{o}@{w}" for (o, w), _ in batch]
        await self._pairs.acquire(keys)
        body = {
            "stocks": [{"offer_id": o, "stock": s.quantity, "warehouse_id": int(w)} for (o, w), s in batch]
        }
        try:
            answer = await self._post("/v2/products/stocks", body, group="stocks")
        finally:
            self._pairs.confirm(keys)
        return self._per_item(answer, len(batch))

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
    async def read_prices(self, offer_ids: Sequence[str]) -> dict[str, Decimal]:
        """The selling price Ozon shows per offer (see ``prices``)."""
        return await ozon_prices.read_prices(self, offer_ids)

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
            rows.extend(await asyncio.to_thread(analytics_rows, data))
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
        currency = await self.account_currency()
        return await asyncio.to_thread(sale_records, rows, by_sku, fees, currency)

    # --- FBS orders (``orders``) -----------------------------------------------------------------------
    async def read_sales(self, date_from: date, date_to: date) -> list[SaleRecord]:
        """Sales and returns with their real commission and delivery charges (``finance``)."""
        return await ozon_finance.read_sales(self, date_from, date_to)

    async def read_order_lines(self, since: datetime) -> list[OrderEvent]:
        """FBS order lines created since ``since`` with their current status (``orders``)."""
        return await fbs_orders.read_order_lines(self, since)


def from_config(
    credentials: OzonCredentials,
    settings: OzonSettings,
    base_url: str | None,
    transport: httpx.AsyncBaseTransport | None,
) -> OzonConnector:
    """Registry entry point (see ``registry.make_connector``)."""
    return OzonConnector(credentials, settings, base_url=base_url, transport=transport)
