"""Analytics per partner: sales from every marketplace, unit economics, ABC, cover, AI spend, narrative.

One ``analytics.report`` job per partner reads the period's order lines from each connected
marketplace, computes ``PartnerMetrics`` (pure, ``domain.analytics``), asks the gateway for a short
ru/uz narrative that may only quote the computed figures, and writes a self-contained HTML report.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from aimanager.db.models import AIUsageLog, AnalyticsReport, Listing, MarketplaceIntegration, Partner, Product
from aimanager.domain.analytics import (
    LineKind,
    ListingSnapshot,
    ProductSnapshot,
    SaleLine,
    UsageRow,
    compute_partner_metrics,
)
from aimanager.domain.enums import Capability, Marketplace
from aimanager.jobs import Job
from aimanager.llm import NarrativeRequest
from aimanager.pipelines.reports.html import write_report
from aimanager.pipelines.services.runtime import Runtime
from aimanager.pipelines.services.tasks import TaskBook


async def report(rt: Runtime, job: Job) -> dict[str, Any]:
    """Handler of ``analytics.report``: payload ``{"days"?}``; returns the report's path."""
    partner_id = int(job.partner_id or 0)
    days = int(job.payload.get("days", rt.analytics_days))
    end = rt.now().replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    start = end - timedelta(days=days)
    async with rt.sessions() as session:
        partner = await session.get(Partner, partner_id)
        if partner is None:
            raise ValueError(f"partner {partner_id} does not exist")
        products = (
            (await session.execute(select(Product).where(Product.partner_id == partner_id))).scalars().all()
        )
        listings = (
            await session.execute(
                select(Listing, Product.sku)
                .join(Product, Product.id == Listing.product_id)
                .where(Listing.partner_id == partner_id)
            )
        ).all()
        markets = (
            (
                await session.execute(
                    select(MarketplaceIntegration.marketplace).where(
                        MarketplaceIntegration.partner_id == partner_id,
                        MarketplaceIntegration.active.is_(True),
                    )
                )
            )
            .scalars()
            .all()
        )
        usage = (
            (
                await session.execute(
                    select(AIUsageLog).where(
                        AIUsageLog.partner_id == partner_id, AIUsageLog.created_at >= start
                    )
                )
            )
            .scalars()
            .all()
        )
    sales = await _sales(rt, partner_id, [Marketplace(m) for m in markets], start, end)
    metrics = compute_partner_metrics(
        partner.name,
        start,
        end,
        [ProductSnapshot(p.sku, p.name, p.cost_price, p.stock) for p in products],
        [
            ListingSnapshot(sku, Marketplace(li.marketplace), li.price, li.competitor_price)
            for li, sku in listings
        ],
        sales,
        [
            UsageRow(u.model, u.task_kind, u.cost_usd, u.input_tokens, u.output_tokens, u.path == "cache")
            for u in usage
        ],
    )
    narrative = await rt.gateway.write_narrative(
        NarrativeRequest(partner_id=partner_id, facts=metrics.narrative_facts())
    )
    path = rt.report_dir / f"{partner.slug}-{end:%Y%m%d}.html"
    if not rt.dry_run:
        write_report(path, metrics, narrative.ru, narrative.uz)
    book = TaskBook(partner_id, job.id)
    book.done(Capability.ANALYTICS, None, "")  # a partner-wide task: no marketplace, no SKU
    async with rt.sessions() as session, session.begin():
        await book.write(session)
        session.add(
            AnalyticsReport(
                partner_id=partner_id,
                period_start=start,
                period_end=end,
                metrics=metrics.model_dump(mode="json"),
                narrative_ru=narrative.ru,
                narrative_uz=narrative.uz,
                html_path=None if rt.dry_run else str(path),
            )
        )
    book.publish(rt.progress)
    return {"path": str(path), "revenue": str(metrics.revenue), "lines": len(sales)}


async def _sales(
    rt: Runtime, partner_id: int, markets: list[Marketplace], start: datetime, end: datetime
) -> list[SaleLine]:
    lines: list[SaleLine] = []
    for market in markets:
        for rec in await rt.orders.read(partner_id, market, start.date(), (end - timedelta(days=1)).date()):
            lines.append(
                SaleLine(
                    sku=rec.offer_id,
                    marketplace=market,
                    quantity=rec.quantity,
                    revenue=rec.revenue,
                    commission=rec.commission,
                    logistics=rec.logistics,
                    kind=LineKind(rec.kind.value),
                    date=rec.date,
                )
            )
    return lines
