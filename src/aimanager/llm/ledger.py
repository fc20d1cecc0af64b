"""The usage ledger's rows (``ai_usage_logs``): how one call's usage is split across the partners it
served, and the group-commit writer of booked rows.

One row per call and partner (a packed call serving three partners writes three rows whose tokens and
costs add up exactly to the call's), and one row per cache hit at zero cost. Costs come from the pinned
price table; ``detail`` carries the price-table version, the call id shared by a pack's rows, the item
ids and any notes (cut input, escalation, re-asks). Rows of calls still in flight (``pending``) and of
calls whose worker died (``lost``) are written by :mod:`~aimanager.llm.ledger_inflight`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from aimanager.db.models import AIUsageLog
from aimanager.llm.prices import PriceTable
from aimanager.llm.types import Usage


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


# The ledger's cost column is Numeric(18, 8).
COST_PLACES = Decimal("0.00000001")


def _rounded_costs(costs: list[Decimal], total: Decimal) -> list[Decimal]:
    """``costs`` at the ledger's precision, summing to ``total`` at that precision: each rounded on its
    own, a call's rows could add up to a hundred-millionth more or less than the call (the largest row
    takes the difference)."""
    if not costs:
        return []
    rounded = [c.quantize(COST_PLACES) for c in costs]
    largest = max(range(len(costs)), key=lambda i: costs[i])
    rounded[largest] += total.quantize(COST_PLACES) - sum(rounded, Decimal(0))
    return rounded


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
    parts = [
        Usage(**{name: values[index] for name, values in columns.items()}) for index in range(len(shares))
    ]
    costs = _rounded_costs(
        [price.cost(part, batch=path == "batch", band_of=usage) for part in parts],
        price.cost(usage, batch=path == "batch"),
    )
    rows = []
    for index, share in enumerate(shares):
        rows.append(
            LedgerRow(
                partner_id=share.partner_id,
                task_kind=task_kind,
                provider=provider,
                model=model,
                path=path,
                usage=parts[index],
                cost_usd=costs[index],
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
        async with self.engine.begin() as conn:
            await conn.execute(insert(AIUsageLog), [row_values(r, now) for r in rows])


def row_values(r: LedgerRow, now: datetime) -> dict[str, Any]:
    """The ``ai_usage_logs`` columns of ``r``, written at ``now``."""
    return {
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
