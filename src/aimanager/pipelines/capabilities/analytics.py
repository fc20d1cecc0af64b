"""Analytics per partner: sales from every marketplace, unit economics, ABC, cover, AI spend, narrative.

One ``analytics.report`` job per partner reads the period's sale lines from each connected
marketplace, computes ``PartnerMetrics`` (pure, ``domain.analytics``), asks the gateway for a short
ru/uz narrative that may only quote the computed figures, and writes a self-contained HTML report.

Sales come from the marketplace's money statement where it has one — ``read_sales``: Ozon's daily
accruals (sale amount, commission, delivery), Yandex Market's order stats (per-order commissions) — and
from the shared order feed otherwise (Uzum finance orders, WB's realisation report carry their fees).
The period is whole days of the partner's calendar (``domain.report_period``); the report is named by
its last local date. A partner with no connected account gets no report of zeros: the task ends
``skipped`` with the reason.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from aimanager.connectors.base import SaleRecord
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
from aimanager.domain.report_period import ReportPeriod, report_period
from aimanager.jobs import Job
from aimanager.llm import NarrativeRequest
from aimanager.pipelines.reports.html import write_report
from aimanager.pipelines.services.runtime import Runtime
from aimanager.pipelines.services.tasks import TaskBook

NO_ACCOUNT = "no marketplace account connected"


async def report(rt: Runtime, job: Job) -> dict[str, Any]:
    """Handler of ``analytics.report``: payload ``{"days"?, "period"?}`` (``period``: to_date,
    yesterday or last_days; see ``domain.report_period``); returns the report's path."""
    partner_id = int(job.partner_id or 0)
    days = int(job.payload.get("days", rt.analytics_days))
    async with rt.sessions() as session:
        partner = await session.get(Partner, partner_id)
        if partner is None:
            raise ValueError(f"partner {partner_id} does not exist")
        period = report_period(rt.now(), partner.timezone, days, str(job.payload.get("period", "to_date")))
        start, end = period.start, period.end
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
                        AIUsageLog.partner_id == partner_id,
                        AIUsageLog.created_at >= start,
                        AIUsageLog.created_at < end,
                    )
                )
            )
            .scalars()
            .all()
        )
    connected = sorted({Marketplace(m) for m in markets}, key=lambda m: m.value)
    book = TaskBook(partner_id, job.id)
    if not connected:
        # A report of zeros would read as "nothing sold"; say what is missing instead.
        book.failed(Capability.ANALYTICS, None, "", NO_ACCOUNT, status="skipped")
        async with rt.sessions() as session, session.begin():
            await book.write(session)
        book.publish(rt.progress)
        return {"skipped": NO_ACCOUNT}
    sales = await _sales(rt, partner_id, connected, period)
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
        connected=connected,
        timezone=period.timezone,
    )
    narrative = await rt.gateway.write_narrative(
        NarrativeRequest(partner_id=partner_id, facts=metrics.narrative_facts())
    )
    path = rt.report_dir / f"{partner.slug}-{period.last_day:%Y%m%d}.html"
    if not rt.dry_run:
        write_report(path, metrics, narrative.ru, narrative.uz)
    book.done(Capability.ANALYTICS, None, "")  # a partner-wide task: no marketplace, no SKU
    async with rt.sessions() as session, session.begin():
        await book.write(session)
        # One report per partner and period: a job run again (a crash after this commit, a retry, a
        # second firing) replaces it instead of adding a second one.
        report = (
            await session.execute(
                select(AnalyticsReport).where(
                    AnalyticsReport.partner_id == partner_id,
                    AnalyticsReport.period_start == start,
                    AnalyticsReport.period_end == end,
                )
            )
        ).scalars().first() or AnalyticsReport(partner_id=partner_id, period_start=start, period_end=end)
        report.metrics = metrics.model_dump(mode="json")
        report.narrative_ru, report.narrative_uz = narrative.ru, narrative.uz
        report.html_path = None if rt.dry_run else str(path)
        session.add(report)
    book.publish(rt.progress)
    return {"path": str(path), "revenue": str(metrics.revenue), "lines": len(sales)}


async def _sales(
    rt: Runtime, partner_id: int, markets: list[Marketplace], period: ReportPeriod
) -> list[SaleLine]:
    lines: list[SaleLine] = []
    for market in markets:
        conn = await rt.connectors.get(partner_id, market)
        read_sales = getattr(conn, "read_sales", None)
        records: list[SaleRecord]
        if read_sales is not None:
            records = await read_sales(period.first_day, period.last_day)
        else:
            records = await rt.orders.read(partner_id, market, period.first_day, period.last_day)
        for rec in records:
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
                    fees_estimated=rec.fees_estimated,
                )
            )
    return lines
