"""Rows that make each alert rule's condition true, written the way the pipelines and the engine write
them (the same models and columns)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, update

from aimanager.db.models import (
    AIUsageLog,
    AnalyticsReport,
    CardVersion,
    Listing,
    Partner,
    PriceChange,
    Product,
    StockPush,
    TaskRecord,
)
from aimanager.jobs import JobSpec, Priority
from aimanager.jobs.backends.sql.tables import JobRow

TOKEN_ERROR = (
    "AuthError: wildberries POST /api/v3/stocks/1 refused: access token is invalid status=401 code=401"
)

# What each condition's alert is, by rule: the rule name a message shows.
EVERY_RULE = {
    "tasks.needs_input",
    "cards.rejected",
    "stock.mismatch",
    "prices.failed",
    "stock.low_cover",
    "budget.warning",
    "budget.exhausted",
    "token.refused",
    "jobs.dead",
    "sla.breached",
}


async def partners(session: Any) -> tuple[Partner, Partner]:
    acme = Partner(slug="acme", name="Acme Savdo", ai_budget_usd=Decimal(10))
    beta = Partner(slug="beta", name="Beta LLC", ai_budget_usd=Decimal(1))
    session.add_all([acme, beta])
    await session.flush()
    return acme, beta


async def product(session: Any, partner: Partner, sku: str, stock: int = 100) -> tuple[Product, Listing]:
    p = Product(partner_id=partner.id, sku=sku, name=f"Product {sku}", stock=stock, category="phones")
    session.add(p)
    await session.flush()
    li = Listing(partner_id=partner.id, product_id=p.id, marketplace="wildberries", price=Decimal(100))
    session.add(li)
    await session.flush()
    return p, li


def job_row(now: datetime, kind: str, partner_id: int | None, **fields: Any) -> JobRow:
    row = JobSpec(kind, {}, partner_id=partner_id, priority=Priority.HIGH).row(now.timestamp() - 600)
    row.update(fields)
    return JobRow(**row)


async def every_condition(sessions: Any, now: datetime) -> dict[str, Any]:
    """One condition per rule (two for the budget: 80 % and 100 %); returns handles to clear them."""
    async with sessions() as session, session.begin():
        acme, beta = await partners(session)
        a1, a1_wb = await product(session, acme, "A1", stock=5)
        session.add_all(
            [
                TaskRecord(
                    partner_id=acme.id,
                    capability="pricing",
                    marketplace="wildberries",
                    sku="A1",
                    status="needs_input",
                    reason="needs input: cost price",
                    updated_at=now,
                ),
                CardVersion(
                    partner_id=acme.id,
                    product_id=a1.id,
                    marketplace="wildberries",
                    version=1,
                    content={},
                    status="rejected",
                    validation_errors=["title longer than 60 characters"],
                ),
                StockPush(
                    partner_id=acme.id,
                    listing_id=a1_wb.id,
                    pool=10,
                    quantity=8,
                    confirmed_quantity=5,
                    status="mismatch",
                    error="read back 5, pushed 8",
                ),
                PriceChange(
                    partner_id=acme.id,
                    listing_id=a1_wb.id,
                    new_price=Decimal(120),
                    floor=Decimal(90),
                    reason="competitor",
                    status="failed",
                    error="PriceTooLow: below the category minimum",
                ),
                # 60 units in 30 days: 2 a day, and 5 left — 2.5 days of cover.
                AnalyticsReport(
                    partner_id=acme.id,
                    period_start=now - timedelta(days=30),
                    period_end=now,
                    metrics={"skus": [{"sku": "A1", "units": 60}]},
                    created_at=now - timedelta(hours=1),
                ),
                # acme: $9 of $10 (90 %); beta: $2 of $1 (over).
                _usage(acme.id, "9", now),
                _usage(beta.id, "2", now),
                job_row(
                    now,
                    "stock.sync",
                    acme.id,
                    status="dead",
                    attempts=3,
                    last_error=TOKEN_ERROR,
                    finished_at=now.timestamp() - 60,
                ),
                job_row(now, "pricing.apply", None, deadline=now.timestamp() - 120),
            ]
        )
    return {"acme": acme.id, "beta": beta.id}


def _usage(partner_id: int, cost: str, now: datetime) -> AIUsageLog:
    return AIUsageLog(
        partner_id=partner_id,
        task_kind="cards",
        provider="offline",
        model="m",
        path="realtime",
        cost_usd=Decimal(cost),
        created_at=now - timedelta(minutes=1),
    )


async def needs_input(sessions: Any, partner_id: int, sku: str, now: datetime) -> None:
    async with sessions() as session, session.begin():
        session.add(
            TaskRecord(
                partner_id=partner_id,
                capability="cards",
                marketplace="ozon",
                sku=sku,
                status="needs_input",
                reason="needs input: brand",
                updated_at=now,
            )
        )


async def resolve_needs_input(sessions: Any, sku: str | None = None) -> None:
    async with sessions() as session, session.begin():
        query = update(TaskRecord).where(TaskRecord.status == "needs_input")
        if sku is not None:
            query = query.where(TaskRecord.sku == sku)
        await session.execute(query.values(status="done", reason=None))


async def forget_jobs(sessions: Any) -> None:
    async with sessions() as session, session.begin():
        await session.execute(delete(JobRow))
