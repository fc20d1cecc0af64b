"""Yandex Market (Market Yandex Go) connector: offer mappings, prices, stocks, orders, reports.

Keys: the seller's ``offerId`` is our ``offer_id`` everywhere; ``businessId`` (catalogue, prices) and
``campaignId`` (store: stocks, orders filter) come from the account's ``YandexSettings`` (``config``).

Cards: ``offer-mappings/update`` is sent twice per batch — Russian content first (``language=RU``), then
only ``name``/``description`` in Uzbek (``language=UZ``), as Market Yandex Go requires. One item error
rejects the *whole* batch, so the connector drops the items named in ``results[].errors`` and resends the
rest once. Cards are checked after the push ("changes apply within minutes"): the card task is finished
when no offer of it is in a ``*_PROCESSING`` card status (``offer-cards``); ``*_ERRORS`` statuses become
per-item errors.

Reports (``reports``), the order stats with fees and the business orders feed (``stats``), FBS order
lines (``orders``) and price reads (``prices``) live beside this class, which delegates to them.

Limits: ``limits.LIMITS`` token buckets (item-counted where YM counts offers) and a semaphore of 2 in
the HTTP client for "2 parallel requests per login"; 420 is handled like 429.
"""

from __future__ import annotations

import uuid
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
from aimanager.connectors.errors import TaskTimeout, ValidationRejected
from aimanager.connectors.http import HttpClient, RetryPolicy
from aimanager.connectors.ratelimit import MarketClock, shared_limiters
from aimanager.connectors.yandex import limits as L
from aimanager.connectors.yandex import models as M
from aimanager.connectors.yandex import order_history
from aimanager.connectors.yandex import orders as fbs_orders
from aimanager.connectors.yandex import prices as ym_prices
from aimanager.connectors.yandex import reports as ym_reports
from aimanager.connectors.yandex import stats as ym_stats
from aimanager.connectors.yandex.config import YandexCredentials, YandexSettings
from aimanager.connectors.yandex.wire import (
    offer_ru,
    offers_not_found,
    price_item,
)
from aimanager.domain.enums import Marketplace
from aimanager.logs import get_logger

log = get_logger(__name__)


class YandexMarketConnector:
    """One YM business/campaign (see the module docstring); its settings are ``YandexSettings``."""

    marketplace = Marketplace.YANDEX
    capabilities = Capabilities(cards=CardChannel.API, fees=False, per_warehouse_stock=False)

    def __init__(
        self,
        credentials: YandexCredentials,
        settings: YandexSettings,
        *,
        base_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.business_id = settings.business_id
        self.campaign_id = settings.campaign_id
        self.currency = settings.currency
        clock = MarketClock(settings.time_scale)
        key = ("yandex", credentials.fingerprint(), base_url or "prod")
        timeout = settings.timeout
        self.http = HttpClient(
            marketplace="yandex",
            base_url=base_url or L.BASE_URL,
            auth_headers={"Api-Key": credentials.api_key.get_secret_value()},
            limiters=shared_limiters(key, L.LIMITS, clock),
            transport=transport,
            timeout=timeout,
            retry=RetryPolicy(attempts=settings.retry_attempts),
            rate_limit_statuses=L.RATE_LIMIT_STATUSES,
            max_parallel=L.MAX_PARALLEL,
        )
        # Report files live on a storage host: never send the Api-Key there.
        self.file_client = httpx.AsyncClient(transport=transport, timeout=timeout)
        self.clock = clock
        self.poll_interval = settings.poll_interval
        self.task_timeout = settings.task_timeout
        self.report_files: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"YandexMarketConnector(business_id={self.business_id}, {self.http!r})"

    async def aclose(self) -> None:
        """Close both HTTP clients."""
        await self.http.aclose()
        await self.file_client.aclose()

    # --- cards -------------------------------------------------------------------------------------
    async def _update_mappings(
        self, items: list[tuple[str, dict[str, Any]]], language: str
    ) -> tuple[list[str], list[ItemError], int]:
        """Send one batch; on a whole-batch rejection drop the failing items and resend the rest once."""
        failed: list[ItemError] = []
        requests = 0
        for _attempt in range(2):
            if not items:
                break
            body = {"offerMappings": [item for _, item in items]}
            answer = await self.http.json(
                "POST",
                f"/v2/businesses/{self.business_id}/offer-mappings/update",
                group="offer-mappings-update",
                params={"language": language},
                json=body,
                cost=len(items),
            )
            requests += 1
            results = [M.UpdateOfferMappingResult.model_validate(r) for r in answer.get("results") or []]
            bad = {r.offerId: r for r in results if r.errors}
            if not bad:
                return [offer_id for offer_id, _ in items], failed, requests
            for offer_id, result in bad.items():
                first = result.errors[0]
                failed.append(
                    ItemError(
                        offer_id=offer_id,
                        code=first.type,
                        message=f"{language}: " + "; ".join(e.message for e in result.errors),
                    )
                )
            items = [(o, i) for o, i in items if o not in bad]
        return [offer_id for offer_id, _ in items], failed, requests

    async def push_cards(self, cards: Sequence[CardPush], *, wait: bool = False) -> PushReport:
        """Create/update offers (ru, then uz text); ``wait`` follows the card checks to the end."""
        report = PushReport()
        for batch in batches(list(cards), M.OFFER_MAPPINGS_PER_CALL):
            ru_items = [(c.offer_id, offer_ru(c, self.currency)) for c in batch]
            accepted, failed, requests = await self._update_mappings(ru_items, "RU")
            uz_items = [
                (
                    c.offer_id,
                    {
                        "offer": M.dump(
                            M.UpdateOffer(offerId=c.offer_id, name=c.title_uz, description=c.description_uz)
                        )
                    },
                )
                for c in batch
                if c.offer_id in accepted and (c.title_uz or c.description_uz)
            ]
            uz_failed: list[ItemError] = []
            if uz_items:
                _, uz_failed, uz_requests = await self._update_mappings(uz_items, "UZ")
                requests += uz_requests
            lost = {e.offer_id for e in uz_failed}
            done = [o for o in accepted if o not in lost]
            tasks = (
                [
                    TaskRef(
                        marketplace=self.marketplace,
                        kind="cards",
                        task_id=uuid.uuid4().hex,
                        offer_ids=tuple(done),
                    )
                ]
                if done
                else []
            )
            report = report.merged(
                PushReport(accepted=done, failed=[*failed, *uz_failed], tasks=tasks, requests=requests)
            )
        if wait and report.tasks:
            report = report.with_statuses([await self.wait_task(t) for t in report.tasks])
        return report

    async def _card_status(self, task: TaskRef) -> TaskStatus:
        cards: list[M.OfferCard] = []
        for chunk in batches(list(task.offer_ids), M.OFFER_IDS_PER_READ):
            answer = await self.http.json(
                "POST",
                f"/v2/businesses/{self.business_id}/offer-cards",
                group="offer-cards-read",
                params={"limit": M.OFFER_IDS_PER_READ},
                json={"offerIds": list(chunk)},
            )
            cards.extend(M.OfferCard.model_validate(c) for c in answer["result"].get("offerCards") or [])
        seen = {c.offerId: c for c in cards}
        if any(c.cardStatus in M.CARD_PROCESSING or c.cardStatus is None for c in cards) or len(seen) < len(
            set(task.offer_ids)
        ):
            return TaskStatus(task=task, state=TaskState.PENDING)
        failed = [
            ItemError(
                offer_id=c.offerId,
                code=c.cardStatus or "UNKNOWN",
                message="; ".join(
                    filter(
                        None,
                        (f"{e.message}: {e.comment}" if e.comment else e.message for e in c.errors or []),
                    )
                )
                or c.cardStatus
                or "",
            )
            for c in cards
            if c.cardStatus in M.CARD_FAILED
        ]
        bad = {e.offer_id for e in failed}
        accepted = [o for o in task.offer_ids if o not in bad]
        state = TaskState.DONE if not failed else TaskState.PARTIAL if accepted else TaskState.FAILED
        return TaskStatus(task=task, state=state, accepted=accepted, failed=failed)

    # --- async tasks -------------------------------------------------------------------------------
    async def wait_task(self, task: TaskRef, *, max_wait: float | None = None) -> TaskStatus:
        """Poll a card check or a report every ``poll_interval`` until it ends (``TaskTimeout`` after
        ``max_wait`` marketplace seconds, default ``task_timeout``)."""
        deadline = self.clock.now() + (self.task_timeout if max_wait is None else max_wait)
        while True:
            status = await (
                self._report_status(task) if task.kind.startswith("report:") else self._card_status(task)
            )
            if status.state.finished:
                return status
            if self.clock.now() >= deadline:
                raise TaskTimeout(f"yandex {task.kind} task still pending", task_id=task.task_id)
            await self.clock.sleep(self.poll_interval)

    async def start_report(self, kind: str, date_from: date, date_to: date) -> TaskRef:
        """Ask YM to generate report ``kind`` (JSON) for the business's campaign (``reports``)."""
        return await ym_reports.start_report(self, kind, date_from, date_to)

    async def _report_status(self, task: TaskRef) -> TaskStatus:
        return await ym_reports.report_status(self, task)

    async def download_report(self, task: TaskRef) -> Any:
        """The JSON content of a finished report (fetch within 60 minutes of ``DONE``)."""
        return await ym_reports.download_report(self, task)

    async def read_report(self, kind: str, date_from: date, date_to: date) -> Any:
        """Generate, follow and download report ``kind`` (``reports``)."""
        return await ym_reports.read_report(self, kind, date_from, date_to)

    # --- prices and stocks -------------------------------------------------------------------------
    async def update_prices(self, prices: Sequence[PriceUpdate], *, wait: bool = False) -> PushReport:
        """Set business-level prices (≤500 offers per call). Synchronous on YM: ``wait`` changes nothing.

        ``old_price`` is sent as ``discountBase`` on every update — YM drops the discount otherwise."""
        report = PushReport()
        items: list[tuple[str, dict[str, Any]]] = []
        for update in prices:
            item = price_item(update, self.currency)
            if isinstance(item, ItemError):
                report = report.merged(PushReport(failed=[item]))
            else:
                items.append((update.offer_id, item))
        for batch in batches(items, M.OFFER_PRICES_PER_CALL):
            report = report.merged(await self._send_prices(list(batch)))
        return report

    async def _send_prices(self, batch: list[tuple[str, dict[str, Any]]]) -> PushReport:
        """One price call; offers the API names as not found are dropped and the rest resent once."""
        report = PushReport()
        for _attempt in range(2):
            try:
                await self.http.json(
                    "POST",
                    f"/v2/businesses/{self.business_id}/offer-prices/updates",
                    group="offer-prices-update",
                    json={"offers": [body for _, body in batch]},
                    cost=len(batch),
                )
            except ValidationRejected as exc:
                missing = offers_not_found(exc.body)
                known = {o for o, _ in batch}
                if not missing or not missing <= known:
                    raise
                report = report.merged(
                    PushReport(
                        requests=1,
                        failed=[
                            ItemError(
                                offer_id=o, code="OFFER_NOT_FOUND", message="offer is not in the catalogue"
                            )
                            for o in sorted(missing)
                        ],
                    )
                )
                batch = [(o, b) for o, b in batch if o not in missing]
                if not batch:
                    return report
                continue
            return report.merged(PushReport(accepted=[o for o, _ in batch], requests=1))
        return report

    async def update_stocks(self, stocks: Sequence[StockUpdate]) -> PushReport:
        """Set the campaign's stock per offer (≤2,000 SKUs per call); ``warehouse_id`` is not used."""
        report = PushReport()
        now = datetime.now(UTC)
        for batch in batches(list(stocks), M.STOCKS_PER_CALL):
            body = M.UpdateStocksRequest(
                skus=[
                    M.SkuStock(sku=s.offer_id, items=[M.StockItem(count=s.quantity, updatedAt=now)])
                    for s in batch
                ]
            )
            await self.http.json(
                "PUT",
                f"/v2/campaigns/{self.campaign_id}/offers/stocks",
                group="stocks-update",
                json=M.dump(body),
                cost=len(batch),
            )
            report = report.merged(PushReport(accepted=[s.offer_id for s in batch], requests=1))
        return report

    async def read_prices(self, offer_ids: Sequence[str]) -> dict[str, Decimal]:
        """The selling price YM shows per offer (see ``prices``)."""
        return await ym_prices.read_prices(self, offer_ids)

    async def read_stocks(self, offer_ids: Sequence[str] | None = None) -> list[StockLevel]:
        """Stocks of the campaign (all pages); ``FIT`` is the sellable quantity."""
        levels: list[StockLevel] = []
        chunks: list[Sequence[str] | None] = list(batches(list(offer_ids), 500)) if offer_ids else [None]
        for chunk in chunks:
            token: str | None = None
            while True:
                params: dict[str, Any] = {"limit": M.STOCKS_READ_LIMIT}
                if token:
                    params["page_token"] = token
                answer = await self.http.json(
                    "POST",
                    f"/v2/campaigns/{self.campaign_id}/offers/stocks",
                    group="stocks-read",
                    params=params,
                    json={"offerIds": list(chunk)} if chunk else {},
                    cost=M.STOCKS_READ_LIMIT,
                )
                result = answer["result"]
                for wh in (M.WarehouseOffers.model_validate(w) for w in result.get("warehouses") or []):
                    for offer in wh.offers:
                        counts = {s.type: s.count for s in offer.stocks}
                        levels.append(
                            StockLevel(
                                offer_id=offer.offerId,
                                quantity=counts.get("FIT", counts.get("AVAILABLE", 0)),
                                warehouse_id=str(wh.warehouseId),
                                reserved=counts.get("FREEZE", 0),
                            )
                        )
                token = M.Paging.model_validate(result.get("paging") or {}).nextPageToken
                if not token:
                    break
        return levels

    # --- orders and fees ---------------------------------------------------------------------------
    async def read_orders(self, date_from: date, date_to: date) -> list[SaleRecord]:
        """Orders of the campaign created in ``[date_from, date_to]`` (``order_history``)."""
        return await order_history.read_orders(self, date_from, date_to)

    async def read_sales(self, date_from: date, date_to: date) -> list[SaleRecord]:
        """Sales and returns with the fees the Market charged, from the order stats (``stats``)."""
        return await ym_stats.read_sales(self, date_from, date_to)

    async def read_fees(self, offer_ids: Sequence[str]) -> list[FeeInfo]:
        """Not implemented for YM yet (``tariffs/calculate`` needs category, price and dimensions per
        offer); fees come from the ``united-marketplace-services`` report via ``read_report``."""
        return []

    # --- FBS orders (``orders``) -----------------------------------------------------------------------
    async def read_order_lines(self, since: datetime) -> list[OrderEvent]:
        """FBS order lines created since ``since`` with their current status (``orders``)."""
        return await fbs_orders.read_order_lines(self, since)


def from_config(
    credentials: YandexCredentials,
    settings: YandexSettings,
    base_url: str | None,
    transport: httpx.AsyncBaseTransport | None,
) -> YandexMarketConnector:
    """Registry entry point (see ``registry.make_connector``)."""
    return YandexMarketConnector(credentials, settings, base_url=base_url, transport=transport)
