"""AI spend from the ledger (``ai_usage_logs``): per partner, model, task kind and day, and budgets.

A month of the ledger at 1,000 partners is millions of rows, so sums over closed days read the daily
rollup (``ai_usage_daily``: one row per day, partner, model and task kind) and only the open edges of
a window — today, and the partial first and last day of an arbitrary window — read the ledger itself
(a bounded ``created_at`` range: ``ix_ai_usage_logs_partner_created`` for one partner,
``ix_ai_usage_logs_created`` for all). Money stays ``Decimal``. Days are UTC days.

The rollup is written lazily, here, by the first reader that needs a closed day (``roll_up``): one
``INSERT … SELECT … GROUP BY`` per day, once, guarded by the day's row in ``ai_usage_days``. A day is
closed ``GRACE`` after it ends: the ledger writes each row with ``created_at`` = now in a short
transaction of its own (``llm/ledger.py``), so no row of a day commits later than that. A call in flight
is a ``pending`` row (``llm/ledger_inflight.py``): never summed here (it is not spend yet; budgets count
it at its worst case), and when it is settled, dropped or swept to ``lost`` its ``created_at`` becomes
that moment, so a closed day never gains or loses a row. ``lost`` rows (a worker died mid-call) are
spend at their worst-case cost: summed like the rest, and their part is shown as ``estimated_usd``.
The ledger stays the source: dropping both rollup tables' rows only makes the next reads slower.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from aimanager.db.models import AIUsageDaily, AIUsageDay, AIUsageLog, Partner
from aimanager.logs import get_logger

# Rows of calls still in flight (at their worst case): not spend until settled or swept as lost.
PENDING, LOST = "pending", "lost"
log = get_logger("aimanager.pipelines.services.spend")
GROUPS = ("partner", "model", "task_kind", "day")
GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class SpendRow:
    key: str  # the partner id, model, task kind or day (ISO date)
    calls: int
    cost_usd: Decimal
    input_tokens: int
    output_tokens: int
    # The part of ``cost_usd`` that is an estimate: calls whose worker died before their answer was
    # booked, counted at their worst case (``lost`` rows).
    estimated_usd: Decimal = Decimal(0)


def day_start(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=UTC)


def _days(first: date, last: date) -> Iterator[date]:
    d = first
    while d <= last:
        yield d
        d += timedelta(days=1)


def closed_days(since: datetime, until: datetime, now: datetime) -> tuple[date, date] | None:
    """The whole UTC days inside ``[since, until)`` that are closed at ``now`` (first, last), if any."""
    first = since.astimezone(UTC).date()
    if day_start(first) < since:
        first += timedelta(days=1)
    last = until.astimezone(UTC).date() - timedelta(days=1)  # the last day ending by ``until``
    newest_closed = (now - GRACE).astimezone(UTC).date() - timedelta(days=1)
    last = min(last, newest_closed)
    return (first, last) if first <= last else None


async def roll_up(session: AsyncSession, first: date, last: date) -> int:
    """Write the rollup of every closed day in ``[first, last]`` not written yet; returns days written.
    Each day is its own transaction (committed here), so concurrent readers write each day once."""
    done = set(
        (
            await session.execute(
                select(AIUsageDay.day).where(AIUsageDay.day >= first, AIUsageDay.day <= last)
            )
        ).scalars()
    )
    missing = [d for d in _days(first, last) if d not in done]
    if not missing:
        return 0
    from sqlalchemy.dialects import postgresql, sqlite

    upsert: Any = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    await session.commit()  # end the read above: each day below is a transaction of its own
    written = 0
    for d in missing:
        claim = upsert(AIUsageDay).values(day=d, rolled_at=datetime.now(UTC))
        claimed = await session.execute(claim.on_conflict_do_nothing(index_elements=["day"]))
        if getattr(claimed, "rowcount", 0) == 1:  # another reader wrote (or is writing) it otherwise
            lo, hi = day_start(d), day_start(d + timedelta(days=1))
            sums = select(
                literal(d, Date),
                AIUsageLog.partner_id,
                AIUsageLog.model,
                AIUsageLog.task_kind,
                func.count(),
                func.coalesce(func.sum(AIUsageLog.cost_usd), 0),
                func.coalesce(func.sum(AIUsageLog.input_tokens), 0),
                func.coalesce(func.sum(AIUsageLog.output_tokens), 0),
            ).where(AIUsageLog.created_at >= lo, AIUsageLog.created_at < hi, AIUsageLog.outcome != PENDING)
            sums = sums.group_by(AIUsageLog.partner_id, AIUsageLog.model, AIUsageLog.task_kind)
            columns = ["day", "partner_id", "model", "task_kind", "calls", "cost_usd", "input_tokens"]
            await session.execute(insert(AIUsageDaily).from_select([*columns, "output_tokens"], sums))
            written += 1
        await session.commit()
    log.info("spend.rolled_up", days=written, first=first.isoformat(), last=last.isoformat())
    return written


def _add(acc: dict[str, list[Any]], key: Any, n: Any, c: Any, i: Any, o: Any) -> None:
    row = acc.setdefault(str(key), [0, Decimal(0), 0, 0])
    row[0] += int(n or 0)
    row[1] += Decimal(str(c or 0))
    row[2] += int(i or 0)
    row[3] += int(o or 0)


async def _from_ledger(
    session: AsyncSession,
    acc: dict[str, list[Any]],
    partner_ids: Collection[int] | None,
    group: str,
    lo: datetime,
    hi: datetime,
) -> None:
    """Sum the ledger rows of ``[lo, hi)`` (an open edge of the window: at most a day or two)."""
    if not lo < hi:
        return
    where = [AIUsageLog.created_at >= lo, AIUsageLog.created_at < hi]
    if partner_ids is not None:
        where.append(AIUsageLog.partner_id.in_(list(partner_ids)))
    where.append(AIUsageLog.outcome != PENDING)
    sums = (
        func.count(),
        func.coalesce(func.sum(AIUsageLog.cost_usd), 0),
        func.coalesce(func.sum(AIUsageLog.input_tokens), 0),
        func.coalesce(func.sum(AIUsageLog.output_tokens), 0),
    )
    column = {"partner": AIUsageLog.partner_id, "model": AIUsageLog.model, "task_kind": AIUsageLog.task_kind}
    if group != "day":
        by = column[group]
        for k, *v in (await session.execute(select(by, *sums).where(*where).group_by(by))).all():
            _add(acc, k, *v)
        return
    # Per day: one query per day keeps it portable (no dialect's date functions); an edge spans ≤ 2 days.
    for d in _days(lo.astimezone(UTC).date(), (hi - timedelta(microseconds=1)).astimezone(UTC).date()):
        a, b = max(lo, day_start(d)), min(hi, day_start(d + timedelta(days=1)))
        day_where = [*where[2:], AIUsageLog.created_at >= a, AIUsageLog.created_at < b]
        n, c, i, o = (await session.execute(select(*sums).where(*day_where))).one()
        _add(acc, d.isoformat(), n, c, i, o)


async def spend(
    session: AsyncSession,
    partner_ids: Collection[int] | None,
    *,
    group: str,
    since: datetime,
    until: datetime,
    now: datetime | None = None,
) -> list[SpendRow]:
    """Spend in ``[since, until)`` grouped by one of ``GROUPS``, biggest cost first (days in order, every
    day of the window listed). Closed days come from the rollup (written first if missing)."""
    if group not in GROUPS:
        raise ValueError(f"group by one of {', '.join(GROUPS)}")
    now = now or datetime.now(UTC)
    acc: dict[str, list[Any]] = {}
    closed = closed_days(since, until, now)
    if closed is None:
        await _from_ledger(session, acc, partner_ids, group, since, until)
    else:
        first, last = closed
        await roll_up(session, first, last)
        column = {
            "partner": AIUsageDaily.partner_id,
            "model": AIUsageDaily.model,
            "task_kind": AIUsageDaily.task_kind,
            "day": AIUsageDaily.day,
        }[group]
        query = select(
            column,
            func.sum(AIUsageDaily.calls),
            func.sum(AIUsageDaily.cost_usd),
            func.sum(AIUsageDaily.input_tokens),
            func.sum(AIUsageDaily.output_tokens),
        ).where(AIUsageDaily.day >= first, AIUsageDaily.day <= last)
        if partner_ids is not None:
            query = query.where(AIUsageDaily.partner_id.in_(list(partner_ids)))
        for k, *v in (await session.execute(query.group_by(column))).all():
            _add(acc, k.isoformat() if isinstance(k, date) else k, *v)
        await _from_ledger(session, acc, partner_ids, group, since, day_start(first))
        await _from_ledger(session, acc, partner_ids, group, day_start(last + timedelta(days=1)), until)
    estimated = await _lost(session, partner_ids, group, since, until)
    if group == "day":
        last_day = (until - timedelta(microseconds=1)).astimezone(UTC).date()
        keys = [d.isoformat() for d in _days(since.astimezone(UTC).date(), last_day)]
        return [_row(k, acc.get(k, [0, Decimal(0), 0, 0]), estimated) for k in keys]
    out = [_row(k, v, estimated) for k, v in acc.items()]
    return sorted(out, key=lambda r: (-r.cost_usd, r.key))


def _row(key: str, sums: list[Any], estimated: dict[str, Decimal]) -> SpendRow:
    calls, cost, input_tokens, output_tokens = sums
    return SpendRow(key, calls, cost, input_tokens, output_tokens, estimated.get(key, Decimal(0)))


async def _lost(
    session: AsyncSession, partner_ids: Collection[int] | None, group: str, since: datetime, until: datetime
) -> dict[str, Decimal]:
    """Worst-case cost of the ``lost`` rows of ``[since, until)`` per group key (they are few: read
    from the ledger through its (outcome, created_at) index, rollup or not)."""
    query = select(
        AIUsageLog.partner_id,
        AIUsageLog.model,
        AIUsageLog.task_kind,
        AIUsageLog.created_at,
        AIUsageLog.cost_usd,
    ).where(AIUsageLog.outcome == LOST, AIUsageLog.created_at >= since, AIUsageLog.created_at < until)
    if partner_ids is not None:
        query = query.where(AIUsageLog.partner_id.in_(list(partner_ids)))
    out: dict[str, Decimal] = {}
    for partner, model, task_kind, at, cost in (await session.execute(query)).all():
        key = {"partner": partner, "model": model, "task_kind": task_kind}.get(group)
        if group == "day":
            key = at.astimezone(UTC).date().isoformat()
        out[str(key)] = out.get(str(key), Decimal(0)) + Decimal(str(cost or 0))
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
    """Each given partner's monthly AI budget against its spend this (UTC) month (rollup + today)."""
    now = now or datetime.now(UTC)
    month = datetime(now.year, now.month, 1, tzinfo=UTC)
    ids = list(partner_ids)
    if not ids:
        return []
    partners = list(
        (await session.execute(select(Partner).where(Partner.id.in_(ids)).order_by(Partner.id))).scalars()
    )
    rows = await spend(session, ids, group="partner", since=month, until=now + timedelta(seconds=1), now=now)
    spent = {r.key: r.cost_usd for r in rows}
    return [
        BudgetRow(p.id, p.slug, p.ai_budget_usd, spent.get(str(p.id), Decimal(0)), p.ai_budget_warn_ratio)
        for p in partners
    ]
