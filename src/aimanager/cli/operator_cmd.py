"""CLI: the operator's path — ``partners``, ``accounts``, ``tasks`` and ``cards``.

Partners are added and accounts connected here (each marketplace's own credential shape, validated,
a live read before anything is saved); what happened to every task is listed and retried here.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from aimanager.cli.app import app
from aimanager.cli.engine_cmd import open_backend
from aimanager.db.models import CardVersion, MarketplaceIntegration, Partner, Product, TaskRecord
from aimanager.domain.enums import Capability, Marketplace
from aimanager.errors import AIManagerError, ConfigError
from aimanager.redact import redact

console = Console()
partners_app = typer.Typer(help="Add and list seller partners.", no_args_is_help=True)
accounts_app = typer.Typer(help="Connect partners' marketplace accounts.", no_args_is_help=True)
tasks_app = typer.Typer(help="What happened to each task; retry the failed ones.", no_args_is_help=True)
cards_app = typer.Typer(help="Card versions and their marketplace errors.", no_args_is_help=True)
app.add_typer(partners_app, name="partners")
app.add_typer(accounts_app, name="accounts")
app.add_typer(tasks_app, name="tasks")
app.add_typer(cards_app, name="cards")
TASK_STATUSES = ("done", "failed", "needs_input", "skipped")
# A connection test is one cheap read; a marketplace that does not answer in this long is "down".
CONNECTION_TEST_S = 30.0


def _pairs(values: list[str], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"expected KEY=VALUE, got {value!r}", param_hint=f"'{option}'")
        out[key.strip()] = item.strip()
    return out


async def _partner_id(session: Any, ref: str) -> int:
    """A partner by id or slug; ConfigError naming it if there is none."""
    query = select(Partner.id).where(Partner.id == int(ref)) if ref.isdigit() else select(Partner.id)
    if not ref.isdigit():
        query = query.where(Partner.slug == ref)
    found = (await session.execute(query)).scalar_one_or_none()
    if found is None:
        raise ConfigError(f"no partner {ref!r} (see `aimanager partners list`)")
    return int(found)


def _sessions(backend: Any) -> Any:
    from aimanager.db.engine import session_factory

    return session_factory(backend.engine)


# -- partners ----------------------------------------------------------------------------------------
@partners_app.command("add")
def partners_add(
    slug: str = typer.Argument(..., help="Short unique name, as in the catalog's partner column."),
    name: str = typer.Option(..., "--name", help="The partner's business name."),
    ai_budget: str | None = typer.Option(None, "--ai-budget", help="Monthly AI budget in USD."),
) -> None:
    """Add a partner (or rename one with the same slug)."""
    budget: Decimal | None = None
    if ai_budget is not None:
        try:
            budget = Decimal(ai_budget)
        except InvalidOperation:
            raise typer.BadParameter(f"not an amount: {ai_budget!r}", param_hint="'--ai-budget'") from None
        if budget < 0:
            raise typer.BadParameter("must not be negative", param_hint="'--ai-budget'")

    async def body() -> None:
        backend = await open_backend()
        try:
            async with _sessions(backend)() as session, session.begin():
                row = (
                    await session.execute(select(Partner).where(Partner.slug == slug))
                ).scalar_one_or_none()
                created = row is None
                if row is None:
                    row = Partner(slug=slug, name=name)
                    session.add(row)
                row.name = name
                if ai_budget is not None:
                    row.ai_budget_usd = budget
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
            async with _sessions(backend)() as session:
                partners = (await session.execute(select(Partner).order_by(Partner.id))).scalars().all()
                products = dict(
                    (
                        await session.execute(
                            select(Product.partner_id, func.count()).group_by(Product.partner_id)
                        )
                    ).all()
                )
                accounts = (
                    await session.execute(
                        select(MarketplaceIntegration.partner_id, MarketplaceIntegration.marketplace).where(
                            MarketplaceIntegration.active.is_(True)
                        )
                    )
                ).all()
        finally:
            await backend.close()
        table = Table("id", "slug", "name", "products", "accounts", "AI budget, USD")
        for p in partners:
            markets = sorted(m for pid, m in accounts if pid == p.id)
            budget = "—" if p.ai_budget_usd is None else str(p.ai_budget_usd)
            table.add_row(
                str(p.id), p.slug, p.name, str(products.get(p.id, 0)), ", ".join(markets) or "none", budget
            )
        console.print(table)

    asyncio.run(body())


# -- accounts ----------------------------------------------------------------------------------------
@accounts_app.command("connect")
def accounts_connect(
    partner: str = typer.Option(..., "--partner", "-p", help="Partner id or slug."),
    marketplace: Marketplace = typer.Option(..., "--marketplace", "-m"),
    credential: list[str] = typer.Option(
        [],
        "--credential",
        help="KEY=VALUE, repeatable: wildberries token; ozon client_id, api_key; yandex api_key; uzum token.",
    ),
    setting: list[str] = typer.Option(
        [], "--setting", help="KEY=VALUE, repeatable: yandex business_id, campaign_id; uzum shop_ids; …"
    ),
    base_url: str | None = typer.Option(
        None, "--base-url", help="The marketplace API's address (sandbox, proxy)."
    ),
    test: bool = typer.Option(True, "--test/--no-test", help="Make one cheap read before saving."),
) -> None:
    """Validate an account, test it with one read, then save it encrypted (replacing the old one)."""
    from aimanager.connectors.registry import make_connector, parse_account
    from aimanager.db.crypto import CredentialBox
    from aimanager.pipelines.services.accounts import save_account
    from aimanager.settings import get_settings

    creds = _pairs(credential, "--credential")
    settings = _pairs(setting, "--setting")
    if base_url:
        settings["base_url"] = base_url

    async def body() -> None:
        account = parse_account(marketplace, creds, settings)  # every bad field named, nothing written
        if test:
            connector = make_connector(account)
            try:
                today = datetime.now(UTC).date()
                async with asyncio.timeout(CONNECTION_TEST_S):
                    await connector.read_orders(today - timedelta(days=1), today)
            except (AIManagerError, TimeoutError, OSError) as exc:
                reason = redact(str(exc) or type(exc).__name__)
                raise ConfigError(
                    f"{marketplace.value}: connection test failed, nothing saved: {reason}"
                ) from None
            finally:
                await connector.aclose()
        backend = await open_backend()
        try:
            async with _sessions(backend)() as session, session.begin():
                partner_id = await _partner_id(session, partner)
                box = CredentialBox.from_settings(get_settings())
                saved = await save_account(
                    session,
                    box,
                    partner_id=partner_id,
                    marketplace=marketplace,
                    credentials=creds,
                    settings=settings,
                )
        finally:
            await backend.close()
        verb = "connected" if saved.created else "replaced"
        tested = "tested, " if test else "not tested, "
        console.print(
            f"{marketplace.value} account of partner {partner} {verb} ({tested}credentials encrypted)"
        )

    asyncio.run(body())


@accounts_app.command("list")
def accounts_list(partner: str | None = typer.Option(None, "--partner", "-p")) -> None:
    """Connected accounts with their settings (never their credentials)."""

    async def body() -> None:
        backend = await open_backend()
        try:
            async with _sessions(backend)() as session:
                query = select(MarketplaceIntegration, Partner.slug).join(
                    Partner, Partner.id == MarketplaceIntegration.partner_id
                )
                if partner is not None:
                    query = query.where(
                        MarketplaceIntegration.partner_id == await _partner_id(session, partner)
                    )
                rows = (await session.execute(query.order_by(Partner.id))).all()
        finally:
            await backend.close()
        table = Table("partner", "marketplace", "active", "settings", "since")
        for row, slug in rows:
            shown = ", ".join(f"{k}={v}" for k, v in sorted((row.settings or {}).items())) or "defaults"
            table.add_row(
                slug, row.marketplace, "yes" if row.active else "no", shown, f"{row.created_at:%Y-%m-%d}"
            )
        console.print(table)

    asyncio.run(body())


@accounts_app.command("disconnect")
def accounts_disconnect(
    partner: str = typer.Option(..., "--partner", "-p"),
    marketplace: Marketplace = typer.Option(..., "--marketplace", "-m"),
) -> None:
    """Stop using an account (kept, inactive; `connect` again re-activates it)."""

    async def body() -> None:
        backend = await open_backend()
        try:
            async with _sessions(backend)() as session, session.begin():
                partner_id = await _partner_id(session, partner)
                row = (
                    await session.execute(
                        select(MarketplaceIntegration).where(
                            MarketplaceIntegration.partner_id == partner_id,
                            MarketplaceIntegration.marketplace == marketplace.value,
                        )
                    )
                ).scalar_one_or_none()
                if row is None:
                    raise ConfigError(f"partner {partner} has no {marketplace.value} account")
                row.active = False
        finally:
            await backend.close()
        console.print(f"{marketplace.value} account of partner {partner} disconnected")

    asyncio.run(body())


# -- tasks -------------------------------------------------------------------------------------------
def _status(value: str | None) -> str | None:
    if value is not None and value not in TASK_STATUSES:
        raise typer.BadParameter(f"one of {', '.join(TASK_STATUSES)}", param_hint="'--status'")
    return value


async def _tasks(
    backend: Any, partner: str | None, capability: Capability | None, status: str | None, limit: int | None
) -> list[tuple[TaskRecord, str]]:
    async with _sessions(backend)() as session:
        query = select(TaskRecord, Partner.slug).join(Partner, Partner.id == TaskRecord.partner_id)
        if partner is not None:
            query = query.where(TaskRecord.partner_id == await _partner_id(session, partner))
        if capability is not None:
            query = query.where(TaskRecord.capability == capability.value)
        if status is not None:
            query = query.where(TaskRecord.status == status)
        query = query.order_by(TaskRecord.updated_at.desc())
        if limit:
            query = query.limit(limit)
        return list((await session.execute(query)).tuples().all())


@tasks_app.command("list")
def tasks_list(
    partner: str | None = typer.Option(None, "--partner", "-p"),
    capability: Capability | None = typer.Option(None, "--capability", "-c"),
    status: str | None = typer.Option(
        None, "--status", "-s", callback=_status, help="done, failed, needs_input"
    ),
    limit: int = typer.Option(50, "--limit", min=1),
) -> None:
    """The latest outcome of each task (SKU × marketplace × capability), newest first."""

    async def body() -> None:
        backend = await open_backend()
        try:
            rows = await _tasks(backend, partner, capability, status, limit)
            async with _sessions(backend)() as session:
                counts = dict(
                    (
                        await session.execute(
                            select(TaskRecord.status, func.count()).group_by(TaskRecord.status)
                        )
                    ).all()
                )
        finally:
            await backend.close()
        table = Table("partner", "capability", "marketplace", "sku", "status", "reason", "updated")
        for task, slug in rows:
            table.add_row(
                slug,
                task.capability,
                task.marketplace or "—",
                task.sku or "—",
                task.status,
                (task.reason or "")[:160],
                f"{task.updated_at:%Y-%m-%d %H:%M}",
            )
        console.print(table)
        console.print(
            "all tasks: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none yet")
        )

    asyncio.run(body())


@tasks_app.command("retry")
def tasks_retry(
    partner: str | None = typer.Option(None, "--partner", "-p"),
    capability: Capability | None = typer.Option(None, "--capability", "-c"),
    status: str = typer.Option("failed", "--status", "-s", callback=_status, help="failed or needs_input"),
) -> None:
    """Queue the matching tasks again (their SKUs, through `run`'s planning and chaining)."""
    from aimanager.pipelines.services.runs import start_run

    async def body() -> None:
        backend = await open_backend()
        try:
            rows = await _tasks(backend, partner, capability, status, None)
            groups: dict[tuple[int, str], set[str]] = {}
            for task, _ in rows:
                groups.setdefault((task.partner_id, task.capability), set()).add(task.sku)
            queued = 0
            for (partner_id, cap), skus in sorted(groups.items()):
                run = await start_run(
                    _sessions(backend),
                    backend,
                    [Capability(cap)],
                    partner_ids=[partner_id],
                    skus=sorted(s for s in skus if s) or None,
                )
                queued += len(run.job_ids)
        finally:
            await backend.close()
        console.print(f"{len(rows)} {status} task(s): {queued} job(s) queued")

    asyncio.run(body())


# -- cards -------------------------------------------------------------------------------------------
@cards_app.command("list")
def cards_list(
    partner: str | None = typer.Option(None, "--partner", "-p"),
    status: str | None = typer.Option(
        None, "--status", "-s", help="validated, pushed, exported, rejected, needs_input"
    ),
    limit: int = typer.Option(50, "--limit", min=1),
) -> None:
    """Card versions, newest first, with each marketplace's errors."""

    async def body() -> None:
        backend = await open_backend()
        try:
            async with _sessions(backend)() as session:
                query = select(CardVersion, Product.sku).join(Product, Product.id == CardVersion.product_id)
                if partner is not None:
                    query = query.where(CardVersion.partner_id == await _partner_id(session, partner))
                if status is not None:
                    query = query.where(CardVersion.status == status)
                rows = (
                    (await session.execute(query.order_by(CardVersion.id.desc()).limit(limit))).tuples().all()
                )
        finally:
            await backend.close()
        table = Table("sku", "marketplace", "version", "status", "errors")
        for cv, sku in rows:
            table.add_row(
                sku, cv.marketplace, str(cv.version), cv.status, "; ".join(cv.validation_errors)[:200]
            )
        console.print(table)

    asyncio.run(body())
