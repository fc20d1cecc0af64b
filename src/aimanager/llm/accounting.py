"""Accounting: the usage ledger (``ai_usage_logs``), per-partner budgets and the gateway's counters.

:class:`Accounting` is what the card and narrative flows call after each answer or cache hit.

One row per call and partner (a packed call serving three partners writes three rows whose tokens and
costs add up exactly to the call's), and one row per cache hit at zero cost. Costs come from the pinned
price table; ``detail`` carries the price-table version, the call id shared by a pack's rows, the item
ids and any notes (cut input, escalation, re-asks).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from aimanager.db.models import AIUsageLog, Partner
from aimanager.llm.errors import BudgetExceeded
from aimanager.llm.prices import PriceTable
from aimanager.llm.types import GatewayStats, ModelRef, ProviderResponse, Usage
from aimanager.logs import get_logger

log = get_logger(__name__)


@dataclass(slots=True)
class Share:
    """One partner's part of a call: its item ids and weights for splitting input and output tokens."""

    partner_id: int | None
    item_ids: list[str]
    input_weight: float
    output_weight: float


@dataclass(slots=True)
class LedgerRow:
    partner_id: int | None
    task_kind: str
    provider: str
    model: str
    path: str
    usage: Usage
    cost_usd: Decimal
    latency_ms: int = 0
    outcome: str = "ok"
    items: int = 1
    request_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def split_int(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` by ``weights`` into integers that add up to ``total`` (largest remainder)."""
    if not weights:
        return []
    if sum(weights) <= 0:
        weights = [1.0] * len(weights)
    weight_sum = sum(weights)
    exact = [total * w / weight_sum for w in weights]
    parts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: exact[i] - parts[i], reverse=True)
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def split_call(
    *,
    usage: Usage,
    shares: list[Share],
    prices: PriceTable,
    model: str,
    provider: str,
    path: str,
    task_kind: str,
    latency_ms: int,
    outcome: str,
    request_id: str | None,
    detail: dict[str, Any],
) -> list[LedgerRow]:
    """The rows of one call: tokens split by the shares' weights, each row priced in the call's band."""
    price = prices.price(model)
    inputs = [s.input_weight for s in shares]
    outputs = [s.output_weight for s in shares]
    columns = {
        "input_tokens": split_int(usage.input_tokens, inputs),
        "cache_read_tokens": split_int(usage.cache_read_tokens, inputs),
        "cache_write_tokens": split_int(usage.cache_write_tokens, inputs),
        "output_tokens": split_int(usage.output_tokens, outputs),
    }
    rows = []
    for index, share in enumerate(shares):
        part = Usage(**{name: values[index] for name, values in columns.items()})
        rows.append(
            LedgerRow(
                partner_id=share.partner_id,
                task_kind=task_kind,
                provider=provider,
                model=model,
                path=path,
                usage=part,
                cost_usd=price.cost(part, batch=path == "batch", band_of=usage),
                latency_ms=latency_ms,
                outcome=outcome,
                items=len(share.item_ids),
                request_id=request_id,
                detail={**detail, "items": share.item_ids, "prices": prices.version},
            )
        )
    return rows


class Ledger:
    """Writes ledger rows with group commit: one writer at a time, each INSERT carrying every row queued
    while the previous one ran. Thousands of calls finishing together thus use one connection instead of
    exhausting the pool (and SQLite's single writer is never contended by ourselves)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._pending: list[LedgerRow] = []
        self._lock = asyncio.Lock()

    async def write(self, rows: list[LedgerRow]) -> None:
        """Return once ``rows`` are committed (possibly by another caller's INSERT)."""
        self._pending.extend(rows)
        async with self._lock:
            if not self._pending:
                return  # a previous holder of the lock committed our rows
            batch, self._pending = self._pending, []
            await self._insert(batch)

    async def _insert(self, rows: list[LedgerRow]) -> None:
        now = datetime.now(UTC)
        values = [
            {
                "partner_id": r.partner_id,
                "task_kind": r.task_kind,
                "provider": r.provider,
                "model": r.model,
                "path": r.path,
                "input_tokens": r.usage.input_tokens,
                "output_tokens": r.usage.output_tokens,
                "cache_read_tokens": r.usage.cache_read_tokens,
                "cache_write_tokens": r.usage.cache_write_tokens,
                "cost_usd": r.cost_usd,
                "latency_ms": r.latency_ms,
                "outcome": r.outcome,
                "items": r.items,
                "request_id": r.request_id,
                "detail": r.detail,
                "created_at": now,
            }
            for r in rows
        ]
        async with self.engine.begin() as conn:
            await conn.execute(insert(AIUsageLog), values)


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

    def __init__(self, engine: AsyncEngine, prices: PriceTable, budget_refresh_s: float) -> None:
        self.prices = prices
        self.stats = GatewayStats()
        self.ledger = Ledger(engine)
        self.budgets = Budgets(engine, budget_refresh_s)

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
