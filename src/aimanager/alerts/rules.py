"""Alert rules: queries over what the system already records, each returning the conditions it finds.

A rule returns ``Finding``s (``findings``); the store turns a finding into an alert episode
(``store.reconcile``). Conditions are per partner and marketplace, capability or job kind — one
message for "Acme has 12 cards rejected by Wildberries", not twelve.

The rules (``RULES``):

* ``tasks.needs_input``  tasks waiting for facts only a person can give (a cost price, an attribute);
* ``cards.rejected``     the latest card version of a product on a marketplace was rejected by the
                         marketplace (a reviewer's rejection is a decision, not an alert);
* ``stock.mismatch``     the latest stock push of a listing read back wrong, or was refused;
* ``prices.failed``      the latest price change of a listing failed;
* ``stock.low_cover``    stock that lasts less than ``cover_days`` at the latest report's sales rate;
* ``stock.oversell_risk`` a pool below the sum of its listings' buffers (``stock_rules``);
* ``budget``             AI spend this month at the partner's warn ratio (80 %) or at its budget;
* ``token.refused``      a marketplace refused the account's credentials (AuthError in a task's
                         reason, or in the last error of a job that failed in the last day);
* ``jobs.dead``          jobs that used up their attempts;
* ``sla.breached``       queued jobs whose start deadline has passed.

The last three read the engine's table and live in ``engine_rules``.
"""

from __future__ import annotations

import shlex
from collections import defaultdict
from datetime import UTC, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import aliased

from aimanager.alerts.engine_rules import jobs_dead, sla_breached, token_refused
from aimanager.alerts.findings import Finding, Rule, RuleContext, Severity, examples, plural
from aimanager.alerts.stock_rules import oversell_risk
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
from aimanager.domain.analytics import cover_days

# Sales rates from a report older than this say little about today's.
REPORT_MAX_AGE = timedelta(days=35)
# How a reviewer's rejection is written on a card version (``services.review``): not a marketplace's.
REVIEWER_REJECTED = "rejected by reviewer"


async def tasks_needs_input(ctx: RuleContext) -> list[Finding]:
    rows = (
        await ctx.session.execute(
            select(TaskRecord.partner_id, TaskRecord.capability, TaskRecord.marketplace, TaskRecord.sku)
            .add_columns(TaskRecord.reason)
            .where(TaskRecord.status == "needs_input")
            .order_by(TaskRecord.partner_id, TaskRecord.capability, TaskRecord.sku)
        )
    ).all()
    groups: dict[tuple[int, str], list[str]] = defaultdict(list)
    for pid, cap, market, sku, reason in rows:
        where = f"{sku}@{market}" if market else (sku or "partner")
        groups[(pid, cap)].append(f"{where}: {reason or 'needs input'}")
    out = []
    for (pid, cap), items in groups.items():
        slug = ctx.slug(pid)
        out.append(
            Finding(
                "tasks.needs_input",
                f"tasks.needs_input:p{pid}:{cap}",
                Severity.WARNING,
                f"{slug}: {plural(len(items), cap + ' task')} waiting for input — "
                + examples(items, ctx.examples),
                f"aimanager tasks list -p {slug} -c {cap} -s needs_input",
                pid,
            )
        )
    return out


async def cards_rejected(ctx: RuleContext) -> list[Finding]:
    newer = aliased(CardVersion)
    rows = (
        await ctx.session.execute(
            select(CardVersion.partner_id, CardVersion.marketplace, Product.sku)
            .add_columns(CardVersion.validation_errors)
            .join(Product, Product.id == CardVersion.product_id)
            .where(
                CardVersion.status == "rejected",
                ~exists().where(
                    newer.product_id == CardVersion.product_id,
                    newer.marketplace == CardVersion.marketplace,
                    newer.id > CardVersion.id,
                ),
            )
            .order_by(CardVersion.partner_id, CardVersion.marketplace, Product.sku)
        )
    ).all()
    groups: dict[tuple[int, str], list[str]] = defaultdict(list)
    for pid, market, sku, errors in rows:
        if errors and str(errors[-1]).startswith(REVIEWER_REJECTED):
            continue  # a person's decision, not a marketplace's refusal: nothing to be alerted about
        groups[(pid, market)].append(f"{sku}: {(errors or ['rejected'])[-1]}")
    out = []
    for (pid, market), items in groups.items():
        slug = ctx.slug(pid)
        out.append(
            Finding(
                "cards.rejected",
                f"cards.rejected:p{pid}:{market}",
                Severity.WARNING,
                f"{slug}: {plural(len(items), 'card')} rejected on {market} — "
                + examples(items, ctx.examples),
                f"aimanager cards list -p {slug} -s rejected",
                pid,
            )
        )
    return out


async def _latest_per_listing(ctx: RuleContext, model: Any, statuses: tuple[str, ...]) -> list[Any]:
    """The latest row of ``model`` (stock pushes, price changes) per listing, where its status is one
    of ``statuses``, with the listing's marketplace and the product's SKU."""
    newer = aliased(model)
    return list(
        (
            await ctx.session.execute(
                select(model.partner_id, Listing.marketplace, Product.sku, model.status, model.error)
                .join(Listing, Listing.id == model.listing_id)
                .join(Product, Product.id == Listing.product_id)
                .where(
                    model.status.in_(statuses),
                    ~exists().where(newer.listing_id == model.listing_id, newer.id > model.id),
                )
                .order_by(model.partner_id, Listing.marketplace, Product.sku)
            )
        ).all()
    )


async def stock_mismatch(ctx: RuleContext) -> list[Finding]:
    groups: dict[tuple[int, str], list[str]] = defaultdict(list)
    latest = await _latest_per_listing(ctx, StockPush, ("mismatch", "failed"))
    for pid, market, sku, status, error in latest:
        groups[(pid, market)].append(f"{sku}: {error or status}")
    out = []
    for (pid, market), items in groups.items():
        slug = ctx.slug(pid)
        out.append(
            Finding(
                "stock.mismatch",
                f"stock.mismatch:p{pid}:{market}",
                Severity.WARNING,
                f"{slug}: stock of {plural(len(items), 'listing')} on {market} is not what was pushed — "
                + examples(items, ctx.examples),
                f"aimanager tasks list -p {slug} -c stock -s failed",
                pid,
            )
        )
    return out


async def prices_failed(ctx: RuleContext) -> list[Finding]:
    groups: dict[tuple[int, str], list[str]] = defaultdict(list)
    for pid, market, sku, status, error in await _latest_per_listing(ctx, PriceChange, ("failed",)):
        groups[(pid, market)].append(f"{sku}: {error or status}")
    out = []
    for (pid, market), items in groups.items():
        slug = ctx.slug(pid)
        out.append(
            Finding(
                "prices.failed",
                f"prices.failed:p{pid}:{market}",
                Severity.WARNING,
                f"{slug}: {plural(len(items), 'price')} not applied on {market} — "
                + examples(items, ctx.examples),
                f"aimanager tasks list -p {slug} -c pricing -s failed",
                pid,
            )
        )
    return out


async def stock_low_cover(ctx: RuleContext) -> list[Finding]:
    latest = (
        select(func.max(AnalyticsReport.id))
        .where(AnalyticsReport.created_at >= ctx.now - REPORT_MAX_AGE)
        .group_by(AnalyticsReport.partner_id)
    )
    reports = (
        (await ctx.session.execute(select(AnalyticsReport).where(AnalyticsReport.id.in_(latest))))
        .scalars()
        .all()
    )
    out = []
    for report in reports:
        days = Decimal(max((report.period_end - report.period_start).total_seconds(), 86400.0)) / 86400
        sold = {s["sku"]: int(s.get("units") or 0) for s in (report.metrics or {}).get("skus", [])}
        stock = dict(
            (
                await ctx.session.execute(
                    select(Product.sku, Product.stock).where(
                        Product.partner_id == report.partner_id,
                        Product.is_active.is_(True),
                        Product.sku.in_([sku for sku, units in sold.items() if units > 0]),
                    )
                )
            ).all()
        )
        short = []
        for sku, units in sorted(sold.items()):
            if sku not in stock:
                continue
            cover = cover_days(stock[sku], units, days)
            if cover is not None and cover < ctx.cover_days:
                short.append((cover, f"{sku}: {stock[sku]} left, {cover} days"))
        if not short:
            continue
        short.sort()
        slug = ctx.slug(report.partner_id)
        out.append(
            Finding(
                "stock.low_cover",
                f"stock.low_cover:p{report.partner_id}",
                Severity.WARNING,
                f"{slug}: {plural(len(short), 'SKU')} run out within {ctx.cover_days} days at the "
                f"recent sales rate — " + examples((text for _, text in short), ctx.examples),
                "restock, then `aimanager import <catalog>` and "
                f"`aimanager run -c stock -p {report.partner_id}`",
                report.partner_id,
            )
        )
    return out


async def budget(ctx: RuleContext) -> list[Finding]:
    month_start = ctx.now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    budgets = (
        await ctx.session.execute(
            select(Partner.id, Partner.ai_budget_usd, Partner.ai_budget_warn_ratio).where(
                Partner.ai_budget_usd.is_not(None), Partner.ai_budget_usd > 0
            )
        )
    ).all()
    if not budgets:
        return []
    spent = dict(
        (
            await ctx.session.execute(
                select(AIUsageLog.partner_id, func.sum(AIUsageLog.cost_usd))
                .where(
                    AIUsageLog.created_at >= month_start,
                    AIUsageLog.partner_id.in_([pid for pid, _, _ in budgets]),
                )
                .group_by(AIUsageLog.partner_id)
            )
        ).all()
    )
    out = []
    month = f"{month_start:%Y-%m}"
    for pid, limit, ratio in budgets:
        if limit is None:  # excluded by the query; says so to the type checker
            continue
        used = Decimal(str(spent.get(pid) or 0))
        share = used / limit
        slug, name = ctx.partners.get(pid, (ctx.slug(pid), ""))
        action = f"aimanager partners add {slug} --name {shlex.quote(name or slug)} --ai-budget <USD>"
        figures = f"${used.quantize(Decimal('0.01'))} of ${limit.quantize(Decimal('0.01'))}"
        # Only the highest level is a finding: at 100 % the 80 % episode ends, and comes back as a
        # new one if a raised budget brings the share under 100 % again.
        if share >= 1:
            out.append(
                Finding(
                    "budget.exhausted",
                    f"budget.exhausted:p{pid}:{month}",
                    Severity.CRITICAL,
                    f"{slug}: AI budget for {month} used up ({figures}); AI work stops until it is raised",
                    action,
                    pid,
                )
            )
        elif share >= (ratio or Decimal("0.8")):
            out.append(
                Finding(
                    "budget.warning",
                    f"budget.warning:p{pid}:{month}",
                    Severity.WARNING,
                    f"{slug}: {int(share * 100)} % of the AI budget for {month} spent ({figures})",
                    action,
                    pid,
                )
            )
    return out


RULES: dict[str, Rule] = {
    "tasks.needs_input": tasks_needs_input,
    "cards.rejected": cards_rejected,
    "stock.mismatch": stock_mismatch,
    "prices.failed": prices_failed,
    "stock.low_cover": stock_low_cover,
    "stock.oversell_risk": oversell_risk,
    "budget": budget,
    "token.refused": token_refused,
    "jobs.dead": jobs_dead,
    "sla.breached": sla_breached,
}
# What each entry of RULES may report as a finding's rule (the budget rule has two levels).
RULE_NAMES: dict[str, tuple[str, ...]] = {name: (name,) for name in RULES} | {
    "budget": ("budget.warning", "budget.exhausted")
}
