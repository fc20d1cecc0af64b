"""Accounting: the usage ledger (``ai_usage_logs``), per-partner budgets and the gateway's counters.

:class:`Accounting` is what the card, narrative and vision flows call: a ``ticket`` before each call
(its rows go in the ledger as ``pending`` before the provider sees it, see ``ledger_inflight``), then
``record_call`` after the answer (the rows are settled in place) and ``record_cache_hits``. How a call
is split across partners is ``ledger.split_call``.

Budgets read every row of the month at its ``cost_usd``: settled rows at their real cost, pending and
lost rows at their worst case, so calls in flight in other processes count against a budget too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from aimanager.db.models import AIUsageLog, Partner
from aimanager.llm.errors import BudgetExceeded
from aimanager.llm.ledger import Ledger, LedgerRow, Share, split_call
from aimanager.llm.ledger_inflight import InFlightLedger, Ticket
from aimanager.llm.prices import PriceTable
from aimanager.llm.types import GatewayStats, ModelRef, ProviderResponse, Usage
from aimanager.logs import get_logger

log = get_logger(__name__)


@dataclass(slots=True)
class _Budget:
    cap: Decimal | None
    warn_ratio: Decimal
    spent: Decimal
    loaded_at: float
    warned: bool = False
    # Estimated cost of this process's work for the partner that is admitted but not yet billed: without
    # it, every item of a run passes the check before the first call is billed and a $0.001 budget
    # lets $0.05 through.
    reserved: Decimal = Decimal(0)


class Budgets:
    """Per-partner monthly AI budgets: ``partners.ai_budget_usd`` (no row or NULL = no budget).

    Spend is read from the ledger (this calendar month, UTC) and kept up to date in memory as this process
    writes rows; it is re-read every ``refresh_s`` so other processes' spend is seen too.
    """

    def __init__(self, engine: AsyncEngine, refresh_s: float = 30.0) -> None:
        self.engine = engine
        self.refresh_s = refresh_s
        self._budgets: dict[int, _Budget] = {}
        self._lock = asyncio.Lock()

    async def _load(self, partner_id: int) -> _Budget:
        month_start = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(Partner.ai_budget_usd, Partner.ai_budget_warn_ratio).where(
                        Partner.id == partner_id
                    )
                )
            ).first()
            spent = (
                await conn.execute(
                    select(func.coalesce(func.sum(AIUsageLog.cost_usd), 0)).where(
                        AIUsageLog.partner_id == partner_id, AIUsageLog.created_at >= month_start
                    )
                )
            ).scalar_one()
        cap = Decimal(row[0]) if row is not None and row[0] is not None else None
        ratio = Decimal(row[1]) if row is not None and row[1] is not None else Decimal("0.8")
        return _Budget(cap, ratio, Decimal(spent), time.monotonic())

    async def _current(self, partner_id: int) -> _Budget:
        async with self._lock:
            budget = self._budgets.get(partner_id)
            if budget is None or time.monotonic() - budget.loaded_at > self.refresh_s:
                fresh = await self._load(partner_id)
                if budget is not None:
                    fresh.warned, fresh.reserved = budget.warned, budget.reserved
                budget = self._budgets[partner_id] = fresh
            return budget

    async def reserve(self, partner_id: int, amount: Decimal) -> None:
        """Admit work estimated at ``amount`` for the partner, or raise ``BudgetExceeded`` if spend plus
        the work already admitted plus this would pass the cap. ``release`` gives it back once billed."""
        budget = await self._current(partner_id)
        if budget.cap is not None and budget.spent + budget.reserved + amount > budget.cap:
            raise BudgetExceeded(partner_id, budget.spent.quantize(Decimal("0.0001")), budget.cap)
        budget.reserved += amount

    def release(self, partner_id: int, amount: Decimal) -> None:
        budget = self._budgets.get(partner_id)
        if budget is not None:
            budget.reserved = max(Decimal(0), budget.reserved - amount)

    async def check(self, partner_id: int) -> None:
        """Raise ``BudgetExceeded`` if the partner's spend has reached its cap; warn once past the ratio."""
        budget = await self._current(partner_id)
        if budget.cap is None:
            return
        if budget.spent >= budget.cap:
            raise BudgetExceeded(partner_id, budget.spent.quantize(Decimal("0.0001")), budget.cap)
        if not budget.warned and budget.spent >= budget.cap * budget.warn_ratio:
            budget.warned = True
            log.warning(
                "llm.budget.warn", partner_id=partner_id, spent=str(budget.spent), cap=str(budget.cap)
            )

    def add(self, partner_id: int | None, cost: Decimal) -> None:
        """Count spend this process just wrote to the ledger."""
        if partner_id is not None and partner_id in self._budgets:
            self._budgets[partner_id].spent += cost


class Accounting:
    """The gateway's books: counters since start, ledger rows per call and per cache hit, partner budgets."""

    def __init__(
        self,
        engine: AsyncEngine,
        prices: PriceTable,
        budget_refresh_s: float,
        lost_after_s: tuple[float, float] | None = None,
    ) -> None:
        self.prices = prices
        self.stats = GatewayStats()
        self.ledger = Ledger(engine)
        self.in_flight = InFlightLedger(engine, prices, lost_after_s)
        self.budgets = Budgets(engine, budget_refresh_s)

    def ticket(
        self,
        task_kind: str,
        path: str,
        items: Sequence[tuple[int | None, str, float]],
        detail: dict[str, Any] | None = None,
    ) -> Ticket:
        """The in-flight rows of one call serving ``items`` (partner, item id, weight), to hand to
        ``Caller.call``: written before the request goes out, settled by ``record_call``."""
        return self.in_flight.ticket(task_kind, path, items, detail)

    async def check_budget(self, partner_id: int) -> None:
        """Raise ``BudgetExceeded`` if the partner has spent its monthly AI budget."""
        await self.budgets.check(partner_id)

    async def record_call(
        self,
        ref: ModelRef,
        response: ProviderResponse,
        path: str,
        task_kind: str,
        shares: list[Share],
        outcome: str,
        detail: dict[str, Any],
    ) -> Decimal:
        """Ledger rows of one answered call, split across the partners it served; spend and stats follow.
        Returns the call's cost."""
        rows = split_call(
            usage=response.usage,
            shares=shares,
            prices=self.prices,
            model=ref.model,
            provider=ref.provider,
            path=path,
            task_kind=task_kind,
            latency_ms=int(response.latency_s * 1000),
            outcome=outcome,
            request_id=response.request_id,
            detail={**detail, "served_by": response.model, "stop_reason": response.stop_reason},
        )
        if response.cut:
            self.stats.cut_calls += 1
        cost = Decimal(0)
        for row in rows:
            self.budgets.add(row.partner_id, row.cost_usd)
            cost += row.cost_usd
        self.stats.cost_usd += cost
        self.stats.usage = self.stats.usage + response.usage
        ticket = self.in_flight.claim(response)
        if ticket is not None:
            await ticket.settle(rows)  # in place of the call's pending rows
        else:
            await self.ledger.write(rows)
        return cost

    async def record_cache_hits(self, hits: list[tuple[int, str, str, str]], prompt_version: str) -> None:
        """One zero-cost row per (partner, task kind, model, item id) answered from the cache."""
        rows = [
            LedgerRow(
                partner,
                task,
                self._provider_of(model),
                model,
                "cache",
                Usage(),
                Decimal(0),
                outcome="hit",
                items=1,
                detail={"items": [item], "prices": self.prices.version, "prompt": prompt_version},
            )
            for partner, task, model, item in hits
        ]
        await self.ledger.write(rows)

    def _provider_of(self, model: str) -> str:
        entry = self.prices.models.get(model)
        return entry.provider if entry else "unknown"
