"""AI spend from the ledger (``ai_usage_logs``): per partner, model, task kind and day, and budgets.

Every sum reads a bounded time window on ``created_at`` (``ix_ai_usage_logs_partner_created`` for one
partner, ``ix_ai_usage_logs_created`` for all), never the whole ledger. Money stays ``Decimal``.
Days are UTC days.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aimanager.db.models import AIUsageLog, Partner

GROUPS = ("partner", "model", "task_kind", "day")


@dataclass(frozen=True)
class SpendRow:
    key: str  # the partner id, model, task kind or day (ISO date)
    calls: int
    cost_usd: Decimal
    input_tokens: int
    output_tokens: int


def day_start(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=UTC)


async def spend(
    session: AsyncSession,
    partner_ids: Collection[int] | None,
    *,
    group: str,
    since: datetime,
    until: datetime,
) -> list[SpendRow]:
    """Spend in ``[since, until)`` grouped by one of ``GROUPS``, biggest cost first (days in order)."""
    if group not in GROUPS:
        raise ValueError(f"group by one of {', '.join(GROUPS)}")
    column = {
        "partner": AIUsageLog.partner_id,
        "model": AIUsageLog.model,
        "task_kind": AIUsageLog.task_kind,
    }.get(group)
    where = [AIUsageLog.created_at >= since, AIUsageLog.created_at < until]
    if partner_ids is not None:
        where.append(AIUsageLog.partner_id.in_(list(partner_ids)))
    sums = (
        func.count(),
        func.coalesce(func.sum(AIUsageLog.cost_usd), 0),
        func.coalesce(func.sum(AIUsageLog.input_tokens), 0),
        func.coalesce(func.sum(AIUsageLog.output_tokens), 0),
    )
    if column is not None:
        rows = (await session.execute(select(column, *sums).where(*where).group_by(column))).all()
        out = [SpendRow(str(k), int(n), Decimal(str(c)), int(i), int(o)) for k, n, c, i, o in rows]
        return sorted(out, key=lambda r: (-r.cost_usd, r.key))
    # Per day: one query per day of the window keeps it portable (no dialect's date functions) and
    # each one an index range; the window is bounded by the caller.
    out = []
    day = since.astimezone(UTC).date()
    while day_start(day) < until:
        lo, hi = max(since, day_start(day)), min(until, day_start(day + timedelta(days=1)))
        n, c, i, o = (
            await session.execute(
                select(*sums).where(*where[2:], AIUsageLog.created_at >= lo, AIUsageLog.created_at < hi)
            )
        ).one()
        out.append(SpendRow(day.isoformat(), int(n), Decimal(str(c)), int(i), int(o)))
        day += timedelta(days=1)
    return out


@dataclass(frozen=True)
class BudgetRow:
    partner_id: int
    slug: str
    budget_usd: Decimal | None
    month_to_date_usd: Decimal
    warn_ratio: Decimal

    @property
    def state(self) -> str:
        """``none`` (no budget), ``ok``, ``warn`` (past the warning share) or ``over``."""
        if self.budget_usd is None:
            return "none"
        if self.month_to_date_usd >= self.budget_usd:
            return "over"
        return "warn" if self.month_to_date_usd >= self.budget_usd * self.warn_ratio else "ok"


async def budgets(
    session: AsyncSession, partner_ids: Collection[int], now: datetime | None = None
) -> list[BudgetRow]:
    """Each given partner's monthly AI budget against its spend this (UTC) month."""
    now = now or datetime.now(UTC)
    month = datetime(now.year, now.month, 1, tzinfo=UTC)
    ids = list(partner_ids)
    partners = (
        await session.execute(select(Partner).where(Partner.id.in_(ids)).order_by(Partner.id))
    ).scalars()
    spent = dict(
        (
            await session.execute(
                select(AIUsageLog.partner_id, func.coalesce(func.sum(AIUsageLog.cost_usd), 0))
                .where(AIUsageLog.partner_id.in_(ids), AIUsageLog.created_at >= month)
                .group_by(AIUsageLog.partner_id)
            )
        ).all()
    )
    return [
        BudgetRow(p.id, p.slug, p.ai_budget_usd, Decimal(str(spent.get(p.id, 0))), p.ai_budget_warn_ratio)
        for p in partners
    ]
