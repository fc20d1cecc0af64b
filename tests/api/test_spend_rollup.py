"""Spend over closed days comes from the daily rollup and equals the ledger's own sums (both dialects)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select

from aimanager.db.engine import session_factory
from aimanager.db.models import AIUsageDaily, AIUsageLog, Partner
from aimanager.pipelines.services import spend


async def test_rollup_sums_equal_the_ledger_and_days_are_written_once(migrated_engine) -> None:  # type: ignore[no-untyped-def]
    now = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)
    sessions = session_factory(migrated_engine)
    async with sessions() as s, s.begin():
        s.add_all([Partner(slug="a", name="A"), Partner(slug="b", name="B", ai_budget_usd=Decimal("1"))])
        await s.flush()
        a, b = (await s.execute(select(Partner.id).order_by(Partner.id))).scalars().all()
        rows = []
        for h in range(0, 24 * 5, 5):  # five days back to now, every 5 hours; the last ones today
            at = now - timedelta(hours=h)
            rows.append({"partner_id": a if h % 2 else b, "task_kind": "cards" if h % 3 else "analytics",
                         "provider": "p", "model": "m1" if h % 4 else "m2", "path": "realtime",
                         "input_tokens": 100 + h, "output_tokens": 10, "cost_usd": Decimal("0.0125") + h,
                         "created_at": at})  # fmt: skip
        rows.append({**rows[0], "partner_id": None, "created_at": now - timedelta(days=2)})
        await s.execute(insert(AIUsageLog), rows)
    since = spend.day_start((now - timedelta(days=4)).date()) + timedelta(hours=7)  # a partial first day
    async with sessions() as s:
        for group in spend.GROUPS:
            got = await spend.spend(s, None, group=group, since=since, until=now, now=now)
            total = sum((r.cost_usd for r in got), Decimal(0))
            expect = (
                await s.execute(
                    select(func.sum(AIUsageLog.cost_usd)).where(
                        AIUsageLog.created_at >= since, AIUsageLog.created_at < now
                    )
                )
            ).scalar()
            assert total == Decimal(str(expect)), group
            assert sum(r.calls for r in got) == sum(1 for r in rows if since <= r["created_at"] < now)
        one = await spend.spend(s, [a], group="partner", since=since, until=now, now=now)
        assert [r.key for r in one] == [str(a)]
        days = await spend.spend(s, None, group="day", since=since, until=now, now=now)
        assert [r.key for r in days] == [(since.date() + timedelta(days=i)).isoformat() for i in range(5)]
        # The three whole closed days are in the rollup, each written once: reading again writes none.
        assert await spend.roll_up(s, since.date() + timedelta(days=1), now.date() - timedelta(days=1)) == 0
        rolled = (await s.execute(select(func.count(func.distinct(AIUsageDaily.day))))).scalar()
        assert rolled == 3
        budget = {r.slug: r for r in await spend.budgets(s, [a, b], now)}
        month = datetime(2026, 11, 1, tzinfo=UTC)
        assert budget["b"].month_to_date_usd == sum(
            (r["cost_usd"] for r in rows if r["partner_id"] == b and month <= r["created_at"] <= now),
            Decimal(0),
        )
        assert budget["b"].state == "over"
