"""Wildberries connector: cards, prices, FBS stocks, realisation report, commission tariffs.

Keys: the seller's ``vendorCode`` is our ``offer_id``; prices need WB's ``nmID`` and stocks its
``chrtID`` (size), so the connector keeps a vendorCode → (nmID, chrtID, subjectID) map read from
``/content/v2/get/cards/list`` (cursor-paginated) and refreshed when an unknown offer shows up.

Async work: card uploads answer 200 before validation, so a card task is finished when each of its
vendorCodes is either in the card list or in ``/content/v2/cards/error/list``; a price upload returns
an upload id that moves from ``/api/v2/buffer/tasks`` to ``/api/v2/history/tasks`` (status 3 OK,
5 partial, 6 all failed; item errors from ``/api/v2/history/goods/task``).

Prices: WB takes an integer ``price`` (before discount) and an integer ``discount`` %; we send
``old_price`` as price and derive the discount, so the selling price is rounded to whole units/percent.
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
from aimanager.connectors.wildberries import finance as wb_finance
from aimanager.connectors.wildberries import limits as L
from aimanager.connectors.wildberries import orders as fbs_orders
from aimanager.connectors.wildberries import prices as wb_prices
from aimanager.connectors.wildberries.config import WildberriesCredentials, WildberriesSettings
from aimanager.connectors.wildberries.wire import (
    already_set,
    card_body,
    price_item,
    wb_error_parser,
)
from aimanager.domain.enums import Marketplace
from aimanager.errors import ConfigError
from aimanager.logs import get_logger

log = get_logger(__name__)


class WildberriesConnector:
    """One WB seller account (see the module docstring); its settings are ``WildberriesSettings``."""

    marketplace = Marketplace.WILDBERRIES
    capabilities = Capabilities(cards=CardChannel.API, fees=True, per_warehouse_stock=True, async_prices=True)

    def __init__(
        self,
        credentials: WildberriesCredentials,
        settings: WildberriesSettings | None = None,
        *,
        base_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        s = settings or WildberriesSettings()
        self.settings = s
        clock = MarketClock(s.time_scale)
        key = ("wb", credentials.fingerprint(), base_url or "prod")
        self.http = HttpClient(
            marketplace="wildberries",
            base_url=base_url or L.HOSTS["content"],
            hosts={} if base_url else L.HOSTS,
            auth_headers={"Authorization": credentials.token.get_secret_value()},
            limiters=shared_limiters(key, L.LIMITS, clock),
            transport=transport,
            timeout=s.timeout,
            retry=RetryPolicy(attempts=s.retry_attempts),
            error_cost=L.error_cost,
            error_parser=wb_error_parser,
        )
        self.clock = clock
        self.poll_interval = s.poll_interval
        self.task_timeout = s.task_timeout
        self.report_page = s.report_page_size
        self._warehouse: str | None = s.warehouse_id
        self._cards: dict[str, dict[str, Any]] = {}

    def __repr__(self) -> str:
        return f"WildberriesConnector({self.http!r})"

    async def aclose(self) -> None:
        await self.http.aclose()

    # --- catalogue -------------------------------------------------------------------------------
    async def _card_pages(self, *, ascending: bool, since: datetime | None = None) -> list[dict[str, Any]]:
        """Cards via the ``{updatedAt, nmID}`` cursor; stop at ``total < limit`` (or before ``since``)."""
        cards: list[dict[str, Any]] = []
        cursor: dict[str, Any] = {"limit": L.CARDS_PAGE}
        while True:
            body = {
                "settings": {
                    "sort": {"ascending": ascending},
                    "cursor": cursor,
                    "filter": {"withPhoto": -1},
                }
            }
            page = await self.http.json(
                "POST", "/content/v2/get/cards/list", group="content_read", host="content", json=body
            )
            batch = page.get("cards") or []
            cards.extend(batch)
            cur = page.get("cursor") or {}
            if cur.get("total", 0) < L.CARDS_PAGE or not batch:
                return cards
            if since is not None and datetime.fromisoformat(batch[-1]["updatedAt"]) < since:
                return cards
            cursor = {"limit": L.CARDS_PAGE, "updatedAt": cur["updatedAt"], "nmID": cur["nmID"]}

    def _remember(self, cards: list[dict[str, Any]]) -> None:
        for card in cards:
            sizes = card.get("sizes") or [{}]
            self._cards[card["vendorCode"]] = {
                "nmID": card["nmID"],
                "chrtID": sizes[0].get("chrtID"),
                "subjectID": card.get("subjectID"),
            }

    async def _resolve(self, offer_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if any(o not in self._cards for o in offer_ids):
            self._remember(await self._card_pages(ascending=True))
        return {o: self._cards[o] for o in offer_ids if o in self._cards}

    # --- cards -----------------------------------------------------------------------------------
    async def push_cards(self, cards: Sequence[CardPush], *, wait: bool = False) -> PushReport:
        """Upload in batches of ≤100 (one task per batch); ``wait`` follows them via the card list
        and the error list. Titles over 60 characters are refused here, before costing a request."""
        failed: list[ItemError] = []
        good: list[CardPush] = []
        for card in cards:
            if len(card.title) > L.TITLE_MAX:
                failed.append(ItemError(offer_id=card.offer_id, code="title_too_long", message="title > 60"))
            elif len(card.offer_id) > L.VENDOR_CODE_MAX:
                failed.append(ItemError(offer_id=card.offer_id, code="vendor_code_too_long", message="> 72"))
            else:
                good.append(card)
        report = PushReport(failed=failed)
        # vendorCodes WB already has go to cards/update (a full overwrite keyed by nmID): upload would
        # refuse them as duplicates.
        known = await self._resolve([c.offer_id for c in good])
        for is_update in (False, True):
            part = [c for c in good if (c.offer_id in known) == is_update]
            for batch in batches(part, L.CARDS_PER_UPLOAD):
                report = report.merged(await self._send_cards(batch, known if is_update else None))
        if wait and report.tasks:
            report = report.with_statuses([await self.wait_task(t) for t in report.tasks])
        return report

    async def _send_cards(
        self, batch: Sequence[CardPush], known: dict[str, dict[str, Any]] | None
    ) -> PushReport:
        sent_at = datetime.now(UTC)
        if known is None:
            path, body = "/content/v2/cards/upload", [card_body(c) for c in batch]
        else:
            path, body = "/content/v2/cards/update", []
            for c in batch:
                variant = card_body(c)["variants"][0]
                variant["nmID"] = known[c.offer_id]["nmID"]
                variant["sizes"][0]["chrtID"] = known[c.offer_id]["chrtID"]
                body.append(variant)
        await self.http.json("POST", path, group="content_write", host="content", json=body)
        task = TaskRef(
            marketplace=self.marketplace,
            kind="cards",
            task_id=f"cards-{uuid.uuid4().hex[:12]}",
            offer_ids=tuple(c.offer_id for c in batch),
            created_at=sent_at,
        )
        return PushReport(accepted=[c.offer_id for c in batch], tasks=[task], requests=1)

    async def _card_errors(self, offer_ids: set[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        cursor: dict[str, Any] = {"limit": 100}
        while True:
            page = await self.http.json(
                "POST",
                "/content/v2/cards/error/list",
                group="content_write",
                host="content",
                json={"cursor": cursor, "order": {"ascending": False}},
            )
            data = page.get("data") or {}
            for item in data.get("items") or []:
                for vendor_code, messages in (item.get("errors") or {}).items():
                    if vendor_code in offer_ids and vendor_code not in found:
                        found[vendor_code] = "; ".join(messages)
            cur = data.get("cursor") or {}
            if not cur.get("next"):
                return found
            cursor = {"limit": 100, "updatedAt": cur.get("updatedAt"), "batchUUID": cur.get("batchUUID")}

    async def _card_status(self, task: TaskRef) -> TaskStatus:
        wanted = set(task.offer_ids)
        cards = await self._card_pages(ascending=False, since=task.created_at)
        self._remember(cards)
        created = {
            c["vendorCode"] for c in cards if datetime.fromisoformat(c["updatedAt"]) >= task.created_at
        } & wanted
        errors = await self._card_errors(wanted - created) if wanted - created else {}
        failed = [ItemError(offer_id=o, code="card_rejected", message=m) for o, m in errors.items()]
        if created | set(errors) != wanted:
            return TaskStatus(task=task, state=TaskState.PENDING, accepted=sorted(created), failed=failed)
        state = TaskState.DONE if not failed else TaskState.PARTIAL if created else TaskState.FAILED
        return TaskStatus(task=task, state=state, accepted=sorted(created), failed=failed)

    # --- prices ----------------------------------------------------------------------------------
    async def update_prices(self, prices: Sequence[PriceUpdate], *, wait: bool = False) -> PushReport:
        """``POST /api/v2/upload/task`` in batches of ≤1,000; one task (upload id) per batch. A repeat of
        an earlier upload comes back 208 ``alreadyExists`` with that upload's id and changes nothing; an
        upload equal to the prices in force is refused 400 "already set", which is success with
        nothing to change (the batch is accepted, no task)."""
        ids = await self._resolve([p.offer_id for p in prices])
        failed = [
            ItemError(offer_id=p.offer_id, code="unknown_offer", message="no WB card with this vendorCode")
            for p in prices
            if p.offer_id not in ids
        ]
        known = [p for p in prices if p.offer_id in ids]
        report = PushReport(failed=failed)
        for batch in batches(known, L.PRICES_PER_UPLOAD):
            body = {"data": [price_item(ids[p.offer_id]["nmID"], p) for p in batch]}
            try:
                answer = await self.http.json(
                    "POST", "/api/v2/upload/task", group="prices", host="prices", json=body
                )
            except ValidationRejected as exc:
                if not already_set(exc):
                    raise
                # The prices in force already are these: WB starts no upload; nothing is left to do.
                log.info("wb.prices.already_set", items=len(batch))
                report = report.merged(PushReport(accepted=[p.offer_id for p in batch], requests=1))
                continue
            # 200 starts an upload; 208 names the earlier upload of exactly this body (same id).
            data = answer.get("data") or {}
            task = TaskRef(
                marketplace=self.marketplace,
                kind="prices",
                task_id=str(data["id"]),
                offer_ids=tuple(p.offer_id for p in batch),
            )
            if data.get("alreadyExists"):
                log.info("wb.prices.already_exists", upload_id=data["id"], items=len(batch))
            report = report.merged(PushReport(accepted=[p.offer_id for p in batch], tasks=[task], requests=1))
        if wait and report.tasks:
            report = report.with_statuses([await self.wait_task(t) for t in report.tasks])
        return report

    async def read_prices(self, offer_ids: Sequence[str]) -> dict[str, Decimal]:
        """The selling price WB shows per offer (see ``prices``)."""
        return await wb_prices.read_prices(self, offer_ids)

    async def _price_status(self, task: TaskRef) -> TaskStatus:
        params = {"uploadID": task.task_id}
        buffered = await self.http.json(
            "GET", "/api/v2/buffer/tasks", group="prices", host="prices", params=params
        )
        if buffered and (buffered.get("data") or {}).get("status") == 1:
            return TaskStatus(task=task, state=TaskState.PENDING)
        history = await self.http.json(
            "GET", "/api/v2/history/tasks", group="prices", host="prices", params=params
        )
        status = ((history or {}).get("data") or {}).get("status")
        if status == 3:
            return TaskStatus(task=task, state=TaskState.DONE, accepted=list(task.offer_ids))
        if status not in (4, 5, 6):
            return TaskStatus(task=task, state=TaskState.PENDING)
        by_nm = {v["nmID"]: k for k, v in self._cards.items()}
        failed: list[ItemError] = []
        offset = 0
        while True:
            page = await self.http.json(
                "GET",
                "/api/v2/history/goods/task",
                group="prices",
                host="prices",
                params={"uploadID": task.task_id, "limit": L.PRICES_HISTORY_PAGE, "offset": offset},
            )
            goods = ((page or {}).get("data") or {}).get("historyGoods") or []
            for g in goods:
                if g.get("errorText"):
                    offer = g.get("vendorCode") or by_nm.get(g["nmID"], str(g["nmID"]))
                    failed.append(
                        ItemError(offer_id=offer, code=f"status_{g.get('status')}", message=g["errorText"])
                    )
            if len(goods) < L.PRICES_HISTORY_PAGE:
                break
            offset += len(goods)
        bad = {e.offer_id for e in failed}
        accepted = [o for o in task.offer_ids if o not in bad]
        state = {3: TaskState.DONE, 5: TaskState.PARTIAL}.get(status, TaskState.FAILED)
        return TaskStatus(task=task, state=state, accepted=accepted, failed=failed)

    # --- tasks -----------------------------------------------------------------------------------
    async def wait_task(self, task: TaskRef, *, max_wait: float | None = None) -> TaskStatus:
        """Poll every ``poll_interval`` until the task finishes (``TaskTimeout`` after ``max_wait``)."""
        deadline = self.clock.now() + (self.task_timeout if max_wait is None else max_wait)
        while True:
            status = await (self._card_status(task) if task.kind == "cards" else self._price_status(task))
            if status.state.finished:
                return status
            if self.clock.now() >= deadline:
                raise TaskTimeout(f"wildberries {task.kind} task still pending", task_id=task.task_id)
            await self.clock.sleep(self.poll_interval)

    # --- stocks ----------------------------------------------------------------------------------
    async def _default_warehouse(self) -> str:
        if self._warehouse is None:
            found = await self.http.json("GET", "/api/v3/warehouses", group="marketplace", host="marketplace")
            if not found:
                raise ConfigError("the WB account has no seller warehouse")
            self._warehouse = str(found[0]["id"])
        return self._warehouse

    async def update_stocks(self, stocks: Sequence[StockUpdate]) -> PushReport:
        """``PUT /api/v3/stocks/{warehouseId}`` in batches of ≤1,000 per warehouse (204 on success).
        Unknown offers and amounts over 100,000 are refused here: WB bills a 4xx as 10 requests."""
        ids = await self._resolve([s.offer_id for s in stocks])
        failed: list[ItemError] = []
        by_wh: dict[str, list[StockUpdate]] = {}
        for s in stocks:
            if s.offer_id not in ids or ids[s.offer_id]["chrtID"] is None:
                failed.append(ItemError(offer_id=s.offer_id, code="unknown_offer", message="no WB size"))
            elif s.quantity > L.MAX_STOCK_AMOUNT:
                failed.append(ItemError(offer_id=s.offer_id, code="amount_too_large", message="> 100000"))
            else:
                by_wh.setdefault(s.warehouse_id or await self._default_warehouse(), []).append(s)
        report = PushReport(failed=failed)
        for warehouse, items in by_wh.items():
            for batch in batches(items, L.STOCKS_PER_CALL):
                body = {
                    "stocks": [{"chrtId": ids[s.offer_id]["chrtID"], "amount": s.quantity} for s in batch]
                }
                await self.http.request(
                    "PUT", f"/api/v3/stocks/{warehouse}", group="marketplace", host="marketplace", json=body
                )
                report = report.merged(PushReport(accepted=[s.offer_id for s in batch], requests=1))
        return report

    async def read_stocks(self, offer_ids: Sequence[str] | None = None) -> list[StockLevel]:
        """``POST /api/v3/stocks/{warehouseId}`` by ≤1,000 chrtIds, at the default warehouse."""
        if offer_ids is None:
            self._remember(await self._card_pages(ascending=True))
            offer_ids = list(self._cards)
        ids = await self._resolve(offer_ids)
        by_chrt = {v["chrtID"]: k for k, v in ids.items() if v["chrtID"] is not None}
        warehouse = await self._default_warehouse()
        levels: list[StockLevel] = []
        for batch in batches(list(by_chrt), L.STOCKS_PER_CALL):
            page = await self.http.json(
                "POST",
                f"/api/v3/stocks/{warehouse}",
                group="marketplace",
                host="marketplace",
                json={"chrtIds": batch},
            )
            for row in (page or {}).get("stocks") or []:
                levels.append(
                    StockLevel(
                        offer_id=by_chrt[row["chrtId"]], quantity=row["amount"], warehouse_id=warehouse
                    )
                )
        return levels

    # --- analytics (``finance``) ---------------------------------------------------------------------
    async def read_orders(self, date_from: date, date_to: date) -> list[SaleRecord]:
        """Realisation report lines (``finance.read_report_lines``)."""
        return await wb_finance.read_report_lines(self, date_from, date_to)

    async def read_fees(self, offer_ids: Sequence[str]) -> list[FeeInfo]:
        """Commission % by subject (``finance.read_fees``)."""
        return await wb_finance.read_fees(self, offer_ids)

    # --- FBS orders (``orders``) -----------------------------------------------------------------------
    async def read_order_lines(self, since: datetime) -> list[OrderEvent]:
        """FBS order lines created since ``since`` with their current status (``orders``)."""
        return await fbs_orders.read_order_lines(self, since)


def from_config(
    credentials: WildberriesCredentials,
    settings: WildberriesSettings,
    base_url: str | None,
    transport: httpx.AsyncBaseTransport | None,
) -> WildberriesConnector:
    """Registry entry point (see ``registry.make_connector``)."""
    return WildberriesConnector(credentials, settings, base_url=base_url, transport=transport)
