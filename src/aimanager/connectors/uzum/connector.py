"""Uzum Market connector: prices, FBS stocks, finance orders, product reads, and the card export.

Keys: our ``offer_id`` is the seller's code on the SKU (``sellerItemCode``, else ``article``, else the
Uzum ``barcode``). Prices need Uzum's ``productId``/``skuId`` and stocks its ``barcode``, so the connector
reads the catalogue (``GET /v1/product/shop/{shopId}``, ``page``/``size`` paging) and keeps the map,
refreshing it once when an unknown offer shows up.

Money is integer UZS: a non-integer price is refused per item (``NON_INTEGER_UZS``) unless the setting
``price_rounding = "round"`` asks for half-up rounding to the whole sum (see ``money``).

Cards: there is no public card-create API, so ``push_cards`` writes the cabinet's bulk XLSX template
(``export``) to ``export_dir`` and returns it as ``PushReport.export_path`` (``CardChannel.EXPORT``): one
``.xlsx`` when the cards share one category, else a ``.zip`` holding one ``.xlsx`` per category (the
cabinet takes one category per file). No HTTP request is made.
"""

from __future__ import annotations

import asyncio
import uuid
import zipfile
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
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
    SaleKind,
    SaleRecord,
    StockLevel,
    StockUpdate,
    TaskRef,
    TaskState,
    TaskStatus,
    batches,
)
from aimanager.connectors.http import HttpClient, RetryPolicy
from aimanager.connectors.ratelimit import MarketClock, shared_limiters
from aimanager.connectors.uzum import limits as L
from aimanager.connectors.uzum import models as M
from aimanager.connectors.uzum import orders as fbs_orders
from aimanager.connectors.uzum.config import UzumCredentials, UzumSettings
from aimanager.connectors.uzum.export import UzumCardRow, export_cards
from aimanager.connectors.uzum.money import NonIntegerPrice, to_uzs
from aimanager.domain.cards import CardDraft, LocalizedCard
from aimanager.domain.enums import Marketplace


class UzumConnector:
    """One Uzum shop; its settings are ``UzumSettings`` (``config``)."""

    marketplace = Marketplace.UZUM
    capabilities = Capabilities(cards=CardChannel.EXPORT, fees=True, per_warehouse_stock=False)

    def __init__(
        self,
        credentials: UzumCredentials,
        settings: UzumSettings,
        *,
        base_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.shop_id = settings.shop_id
        self.rounding = settings.price_rounding
        self.export_dir = settings.export_dir
        self.page_size = settings.page_size
        clock = MarketClock(settings.time_scale)
        key = ("uzum", credentials.fingerprint(), base_url or "prod")
        self.http = HttpClient(
            marketplace="uzum",
            base_url=base_url or L.BASE_URL,
            # Raw token, no "Bearer" (reference §2.1).
            auth_headers={"Authorization": credentials.token.get_secret_value()},
            limiters=shared_limiters(key, L.LIMITS, clock),
            transport=transport,
            timeout=settings.timeout,
            retry=RetryPolicy(attempts=settings.retry_attempts),
            max_parallel=L.MAX_PARALLEL,
        )
        self.clock = clock
        self._skus: dict[str, tuple[M.Product, M.ProductSku]] = {}

    def __repr__(self) -> str:
        return f"UzumConnector(shop_id={self.shop_id}, {self.http!r})"

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.http.aclose()

    # --- catalogue -----------------------------------------------------------------------------------
    async def read_products(self) -> list[M.Product]:
        """Every product card of the shop (all pages)."""
        products: list[M.Product] = []
        page = 0
        while True:
            answer = await self.http.json(
                "GET",
                f"/v1/product/shop/{self.shop_id}",
                group="read",
                params={"page": page, "size": self.page_size, "filter": "ALL"},
            )
            batch = M.ProductPage.model_validate(answer)
            products.extend(batch.productList)
            page += 1
            if not batch.productList or len(products) >= batch.totalProductsAmount:
                return products

    @staticmethod
    def offer_id_of(sku: M.ProductSku) -> str:
        """Our key for an Uzum SKU: the seller's code, else the article, else the barcode."""
        return sku.sellerItemCode or sku.article or sku.barcode or str(sku.skuId)

    async def _resolve(self, offer_ids: Sequence[str]) -> dict[str, tuple[M.Product, M.ProductSku]]:
        if not self._skus or any(o not in self._skus for o in offer_ids):
            self._skus = {self.offer_id_of(s): (p, s) for p in await self.read_products() for s in p.skuList}
        return {o: self._skus[o] for o in offer_ids if o in self._skus}

    # --- cards (export) ------------------------------------------------------------------------------
    @staticmethod
    def _row(card: CardPush) -> UzumCardRow:
        extra, attrs = card.extra, dict(card.attributes)
        colour = attrs.pop("colour", None) or attrs.pop("Цвет", None)
        size = attrs.pop("size", None) or attrs.pop("Размер", None)
        draft = CardDraft(
            ru=LocalizedCard(title=card.title, description=card.description),
            uz=LocalizedCard(title=card.title_uz or "", description=card.description_uz or ""),
        )
        return UzumCardRow(
            sku=card.offer_id,
            category=card.category_id,
            card=draft,
            brand=card.brand or "",
            ikpu=str(extra.get("ikpu", "")),
            sell_price=card.price if card.price is not None else Decimal(0),
            full_price=card.old_price or card.price or Decimal(0),
            photos=tuple(card.images),
            country=str(extra.get("country", "Узбекистан")),
            group_key=extra.get("group_key"),
            barcode=card.barcode,
            colour=colour,
            size=size,
            weight_g=card.weight_g,
            height_mm=card.height_mm,
            width_mm=card.width_mm,
            length_mm=card.length_mm,
            filters=attrs,
        )

    async def push_cards(self, cards: Sequence[CardPush], *, wait: bool = False) -> PushReport:
        """Write the bulk-template file(s) for ``cards``; rows the cabinet would refuse are ``failed``."""
        # Building workbooks is ~0.1 s of CPU per category: in a thread, so the event loop (claims,
        # heartbeats, other partners' calls) keeps turning meanwhile.
        rows = [self._row(c) for c in cards]
        files, problems = await asyncio.to_thread(export_cards, rows, rounding=self.rounding)
        failed = [
            ItemError(offer_id=p.sku, code=f"EXPORT_{p.field.upper()}", message=p.message) for p in problems
        ]
        if not files:
            return PushReport(failed=failed)
        self.export_dir.mkdir(parents=True, exist_ok=True)
        stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
        if len(files) == 1:
            path = self.export_dir / f"{stamp}-{files[0].filename}"
            path.write_bytes(files[0].content)
        else:
            path = self.export_dir / f"{stamp}-uzum-cards.zip"
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
                for f in files:
                    archive.writestr(f.filename, f.content)
        accepted = [sku for f in files for sku in f.skus]
        return PushReport(accepted=accepted, failed=failed, export_path=path)

    async def wait_task(self, task: TaskRef, *, max_wait: float | None = None) -> TaskStatus:
        """Uzum has no async tasks: every write answers synchronously, so any task is already done."""
        return TaskStatus(task=task, state=TaskState.DONE, accepted=list(task.offer_ids))

    # --- prices --------------------------------------------------------------------------------------
    async def update_prices(self, prices: Sequence[PriceUpdate], *, wait: bool = False) -> PushReport:
        """Send ``sendPriceData`` once per product (all its SKUs in one call), in whole UZS."""
        known = await self._resolve([p.offer_id for p in prices])
        report = PushReport()
        by_product: dict[int, list[tuple[str, M.PriceSku]]] = {}
        for update in prices:
            if update.offer_id not in known:
                report = report.merged(PushReport(failed=[_unknown(update.offer_id)]))
                continue
            try:
                sell = to_uzs(update.price, rounding=self.rounding)
                full = to_uzs(update.old_price or update.price, rounding=self.rounding)
            except NonIntegerPrice as exc:
                report = report.merged(
                    PushReport(
                        failed=[ItemError(offer_id=update.offer_id, code="NON_INTEGER_UZS", message=str(exc))]
                    )
                )
                continue
            product, sku = known[update.offer_id]
            item = M.PriceSku(
                skuId=sku.skuId, fullPrice=max(full, sell), sellPrice=sell, skuTitle=sku.skuTitle
            )
            by_product.setdefault(product.productId, []).append((update.offer_id, item))
        for product_id, items in by_product.items():
            body = M.SendPriceDataRequest(productId=product_id, skuList=[i for _, i in items])
            answer = await self.http.json(
                "POST",
                f"/v1/product/{self.shop_id}/sendPriceData",
                group="write",
                json=body.model_dump(mode="json", exclude_none=True),
            )
            report = report.merged(
                self._outcome(
                    [o for o, _ in items], answer, key="skuId", ids={str(i.skuId): o for o, i in items}
                )
            )
        return report

    @staticmethod
    def _outcome(offer_ids: list[str], answer: Any, *, key: str, ids: dict[str, str]) -> PushReport:
        """Map an envelope's ``errors[]`` (each naming the item in ``payload[key]``) to item errors."""
        envelope = M.Envelope.model_validate(answer if isinstance(answer, dict) else {})
        failed = []
        for err in envelope.errors:
            ref = str((err.payload or {}).get(key, ""))
            offer = ids.get(ref)
            if offer is not None:
                failed.append(ItemError(offer_id=offer, code=err.code, message=err.message or err.code))
        bad = {e.offer_id for e in failed}
        return PushReport(accepted=[o for o in offer_ids if o not in bad], failed=failed, requests=1)

    # --- stocks --------------------------------------------------------------------------------------
    async def update_stocks(self, stocks: Sequence[StockUpdate]) -> PushReport:
        """Set FBS stock (one figure per SKU, keyed by barcode), 100 SKUs per call."""
        known = await self._resolve([s.offer_id for s in stocks])
        report = PushReport()
        items: list[tuple[str, M.SkuAmount]] = []
        for update in stocks:
            found = known.get(update.offer_id)
            if found is None or not found[1].barcode:
                report = report.merged(PushReport(failed=[_unknown(update.offer_id)]))
                continue
            if update.quantity > M.MAX_STOCK_AMOUNT:
                report = report.merged(
                    PushReport(
                        failed=[
                            ItemError(
                                offer_id=update.offer_id,
                                code="AMOUNT_TOO_LARGE",
                                message=f"amount > {M.MAX_STOCK_AMOUNT}",
                            )
                        ]
                    )
                )
                continue
            _product, sku = found
            items.append(
                (
                    update.offer_id,
                    M.SkuAmount(
                        skuId=sku.skuId,
                        barcode=sku.barcode or "",
                        amount=update.quantity,
                        sellerSkuCode=update.offer_id,
                        fbsLinked=True,
                        dbsLinked=False,
                    ),
                )
            )
        for batch in batches(items, M.STOCKS_PER_CALL):
            body = M.StocksUpdateRequest(skuAmountList=[i for _, i in batch])
            answer = await self.http.json(
                "POST",
                "/v2/fbs/sku/stocks",
                group="write",
                json=body.model_dump(mode="json", exclude_none=True),
            )
            ids = {i.barcode: o for o, i in batch}
            report = report.merged(self._outcome([o for o, _ in batch], answer, key="barcode", ids=ids))
        return report

    async def read_stocks(self, offer_ids: Sequence[str] | None = None) -> list[StockLevel]:
        """FBS stock of every SKU (``GET /v3/fbs/sku/stocks``, all pages), filtered to ``offer_ids``."""
        levels: list[StockLevel] = []
        page = 0
        while True:
            answer = await self.http.json(
                "GET", "/v3/fbs/sku/stocks", group="read", params={"page": page, "size": self.page_size}
            )
            payload = M.Envelope.model_validate(answer).payload or {}
            rows = [M.SkuAmount.model_validate(r) for r in payload.get("skuAmountList") or []]
            levels.extend(StockLevel(offer_id=r.sellerSkuCode or r.barcode, quantity=r.amount) for r in rows)
            page += 1
            if not rows or len(levels) >= int(payload.get("totalElements", 0)):
                break
        wanted = set(offer_ids) if offer_ids is not None else None
        return [lv for lv in levels if wanted is None or lv.offer_id in wanted]

    # --- finance and fees ----------------------------------------------------------------------------
    async def read_orders(self, date_from: date, date_to: date) -> list[SaleRecord]:
        """Finance order items in ``[date_from, date_to]`` (UTC days), every page; money in UZS."""
        start = datetime.combine(date_from, time(0), tzinfo=UTC)
        end = datetime.combine(date_to + timedelta(days=1), time(0), tzinfo=UTC) - timedelta(milliseconds=1)
        await self._resolve([])
        by_title = {(p.productId, s.skuTitle): self.offer_id_of(s) for p, s in self._skus.values()}
        records: list[SaleRecord] = []
        page = 0
        while True:
            params = {
                "shopIds": self.shop_id,
                "dateFrom": M.to_ms(start),
                "dateTo": M.to_ms(end),
                "page": page,
                "size": self.page_size,
                "group": "false",
            }
            answer = await self.http.json("GET", "/v1/finance/orders", group="read", params=params)
            batch = M.FinanceOrdersPage.model_validate(answer)
            for item in batch.orderItems:
                offer = (
                    by_title.get((item.productId or 0, item.skuTitle)) or item.skuTitle or str(item.productId)
                )
                returned = item.amountReturns > 0 or item.status == "CANCELED"
                records.append(
                    SaleRecord(
                        date=M.from_ms(item.date),
                        offer_id=offer,
                        quantity=item.amount,
                        revenue=Decimal(item.sellPrice) * item.amount,
                        commission=Decimal(item.commission),
                        logistics=Decimal(item.logisticDeliveryFee),
                        kind=SaleKind.RETURN if returned else SaleKind.SALE,
                        order_id=str(item.orderId),
                        currency="UZS",
                    )
                )
            page += 1
            if not batch.orderItems or page * self.page_size >= batch.totalElements:
                return records

    async def read_fees(self, offer_ids: Sequence[str]) -> list[FeeInfo]:
        """Commission per SKU from the catalogue (Uzum gives a percent per SKU; logistics is per order)."""
        known = await self._resolve(offer_ids)
        return [
            FeeInfo(
                offer_id=o,
                commission_pct=Decimal(str(s.commission if s.commission is not None else p.commission or 0)),
                currency="UZS",
            )
            for o, (p, s) in known.items()
        ]

    # --- FBS orders (``orders``) -----------------------------------------------------------------------
    async def read_order_lines(self, since: datetime) -> list[OrderEvent]:
        """FBS order lines created since ``since`` with their current status (``orders``)."""
        return await fbs_orders.read_order_lines(self, since)

    async def confirm_orders(self, order_ids: Sequence[str]) -> PushReport:
        """Confirm new FBS orders (Uzum cancels one left unconfirmed; ``orders``)."""
        return await fbs_orders.confirm_orders(self, order_ids)


def _unknown(offer_id: str) -> ItemError:
    return ItemError(
        offer_id=offer_id, code="UNKNOWN_SKU", message="no SKU with this seller code in the shop"
    )


def from_config(
    credentials: UzumCredentials,
    settings: UzumSettings,
    base_url: str | None,
    transport: httpx.AsyncBaseTransport | None,
) -> UzumConnector:
    """Registry entry point (see ``registry.make_connector``)."""
    return UzumConnector(credentials, settings, base_url=base_url, transport=transport)
