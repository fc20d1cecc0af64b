"""CLI: ``aimanager partners add|list|show|disable|enable`` — the seller partners an operator serves.

A disabled partner keeps everything (products, accounts, history) but gets no new work: ``run`` and
every schedule plan only active partners (``planner.build_plan`` and ``schedules.run_scheduled`` select
``Partner.is_active``). ``enable`` brings it back.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.table import Table
from sqlalchemy import func, select

from aimanager.cli.app import app
from aimanager.cli.engine_cmd import open_backend
from aimanager.cli.operator_cmd import console, partner_id_of, sessions_of
from aimanager.db.models import AIUsageLog, MarketplaceIntegration, Partner, Product, TaskRecord
from aimanager.pipelines.services.account_health import health_of, short_error
from aimanager.pipelines.services.directory import PartnerRow, list_partners, upsert_partner

partners_app = typer.Typer(help="Add, list, show, disable and enable seller partners.", no_args_is_help=True)
app.add_typer(partners_app, name="partners")


def _budget(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        budget = Decimal(value)
    except InvalidOperation:
        raise typer.BadParameter(f"not an amount: {value!r}", param_hint="'--ai-budget'") from None
    if not budget.is_finite() or budget < 0:
        raise typer.BadParameter("must be a non-negative amount", param_hint="'--ai-budget'")
    return budget


def _timezone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise typer.BadParameter(
            f"not an IANA time zone: {value!r} (e.g. Asia/Tashkent)", param_hint="'--timezone'"
        ) from None
    return value


@partners_app.command("add")
def partners_add(
    slug: str = typer.Argument(..., help="Short unique name, as in the catalog's partner column."),
    name: str = typer.Option(..., "--name", help="The partner's business name."),
    ai_budget: str | None = typer.Option(None, "--ai-budget", help="Monthly AI budget in USD."),
    timezone: str | None = typer.Option(
        None, "--timezone", help="IANA time zone of the partner's dates (default Asia/Tashkent)."
    ),
) -> None:
    """Add a partner (or rename one with the same slug)."""
    budget = _budget(ai_budget)
    zone = _timezone(timezone)

    async def body() -> None:
        backend = await open_backend()
        try:
            async with sessions_of(backend)() as session, session.begin():
                # The directory service's upsert, as the API and `partners import` add partners.
                row, created = await upsert_partner(session, slug, name, budget)
                if zone is not None:
                    row.timezone = zone
                await session.flush()
                partner_id = row.id
        finally:
            await backend.close()
        console.print(f"partner {slug} ({'added' if created else 'updated'}, id {partner_id})")

    asyncio.run(body())


@partners_app.command("list")
def partners_list() -> None:
    """Partners with their products and connected marketplaces."""

    async def body() -> None:
        backend = await open_backend()
        try:
            rows: list[PartnerRow] = []
            async with sessions_of(backend)() as session:
                # Page by page (keyset on id), as the API lists them: each page is two indexed look-ups.
                while page := await list_partners(
                    session, None, after_id=rows[-1].partner.id if rows else None, limit=500
                ):
                    rows.extend(page)
        finally:
            await backend.close()
        table = Table("id", "slug", "name", "active", "products", "accounts", "AI budget, USD")
        for row in rows:
            p = row.partner
            budget = "—" if p.ai_budget_usd is None else str(p.ai_budget_usd)
            table.add_row(
                str(p.id),
                p.slug,
                p.name,
                "yes" if p.is_active else "no (disabled)",
                str(row.products),
                ", ".join(row.marketplaces) or "none",
                budget,
            )
        console.print(table)

    asyncio.run(body())


def month_start_utc(zone: str, now: datetime) -> datetime:
    """The first instant of ``now``'s month in the partner's time zone, in UTC."""
    local = now.astimezone(ZoneInfo(zone))
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


async def _overview(session: Any, partner_id: int, now: datetime) -> dict[str, Any]:
    partner = await session.get(Partner, partner_id)
    products = dict(
        (
            await session.execute(
                select(Product.is_active, func.count())
                .where(Product.partner_id == partner_id)
                .group_by(Product.is_active)
            )
        ).all()
    )
    accounts = (
        (
            await session.execute(
                select(MarketplaceIntegration)
                .where(MarketplaceIntegration.partner_id == partner_id)
                .order_by(MarketplaceIntegration.marketplace)
            )
        )
        .scalars()
        .all()
    )
    tasks = (
        await session.execute(
            select(TaskRecord.capability, TaskRecord.status, func.count())
            .where(TaskRecord.partner_id == partner_id)
            .group_by(TaskRecord.capability, TaskRecord.status)
        )
    ).all()
    since = month_start_utc(partner.timezone or "Asia/Tashkent", now)
    spent = (
        await session.execute(
            select(func.sum(AIUsageLog.cost_usd)).where(
                AIUsageLog.partner_id == partner_id, AIUsageLog.created_at >= since
            )
        )
    ).scalar_one()
    return {
        "partner": partner,
        "products": products,
        "accounts": accounts,
        "tasks": tasks,
        "spent": Decimal(str(spent or 0)),
        "since": since,
    }


@partners_app.command("show")
def partners_show(partner: str = typer.Argument(..., help="Partner id or slug.")) -> None:
    """One partner: products, accounts with their health, tasks by status, AI spend this month."""

    async def body() -> None:
        backend = await open_backend()
        now = datetime.now(UTC)
        try:
            async with sessions_of(backend)() as session:
                found = await _overview(session, await partner_id_of(session, partner), now)
        finally:
            await backend.close()
        p: Partner = found["partner"]
        zone = p.timezone or "Asia/Tashkent"
        console.print(f"partner {p.slug} (id {p.id}): {p.name}", markup=False)
        console.print(f"  state: {'active' if p.is_active else 'disabled (no new work)'}; time zone {zone}")
        active, inactive = found["products"].get(True, 0), found["products"].get(False, 0)
        console.print(f"  products: {active} active" + (f", {inactive} inactive" if inactive else ""))
        budget = "no budget" if p.ai_budget_usd is None else f"budget {p.ai_budget_usd} USD"
        month = found["since"].astimezone(ZoneInfo(zone))
        console.print(f"  AI spend in {month:%Y-%m}: {found['spent']:.4f} USD ({budget})")
        accounts = Table(
            "marketplace", "active", "health", "last success", "last error", "token", title="accounts"
        )
        for row in found["accounts"]:
            health = health_of(row, now)
            accounts.add_row(
                row.marketplace,
                "yes" if row.active else "no",
                health.state,
                _when(health.last_success_at),
                short_error(health.last_error) if health.state == "failing" else "—",
                health.warning or (_when(health.token_expires_at) if health.token_expires_at else "—"),
            )
        console.print(accounts if found["accounts"] else "  accounts: none connected")
        by_cap: dict[str, dict[str, int]] = {}
        for capability, status, n in found["tasks"]:
            by_cap.setdefault(capability, {})[status] = n
        if not by_cap:
            console.print("  tasks: none yet")
            return
        statuses = ("done", "failed", "needs_input", "skipped")
        tasks = Table("capability", *statuses, title="tasks (latest outcome each)")
        for capability, counts in sorted(by_cap.items()):
            tasks.add_row(capability, *(str(counts.get(s, 0)) for s in statuses))
        console.print(tasks)

    asyncio.run(body())


def _when(at: datetime | None) -> str:
    return "—" if at is None else f"{at:%Y-%m-%d %H:%M}"


def _set_active(partner: str, active: bool) -> None:
    async def body() -> None:
        backend = await open_backend()
        try:
            async with sessions_of(backend)() as session, session.begin():
                row = await session.get(Partner, await partner_id_of(session, partner))
                was = row.is_active
                row.is_active = active
                slug = row.slug
        finally:
            await backend.close()
        verb = "enabled" if active else "disabled"
        note = "" if was != active else " (it already was)"
        tail = "" if active else "; `run` and schedules skip it until `aimanager partners enable`"
        console.print(f"partner {slug} {verb}{note}{tail}")

    asyncio.run(body())


@partners_app.command("disable")
def partners_disable(partner: str = typer.Argument(..., help="Partner id or slug.")) -> None:
    """Stop new work for a partner (kept whole; `run` and schedules skip it)."""
    _set_active(partner, False)


@partners_app.command("enable")
def partners_enable(partner: str = typer.Argument(..., help="Partner id or slug.")) -> None:
    """Take a disabled partner back into `run` and the schedules."""
    _set_active(partner, True)
