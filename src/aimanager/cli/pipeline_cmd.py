"""CLI: the catalog and its work — ``import``, ``run``, ``status``, ``report``."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from aimanager.cli.app import app
from aimanager.cli.engine_cmd import open_backend
from aimanager.db.models import AIUsageLog, AnalyticsReport
from aimanager.domain.enums import Capability
from aimanager.jobs import Priority

console = Console()


@app.command("import")
def import_cmd(file: Path = typer.Argument(..., exists=False)) -> None:
    """Import a catalog (CSV or XLSX); bad rows are listed with file, row and field."""
    from aimanager.pipelines.catalog.importer import import_catalog

    async def body() -> int:
        backend = await open_backend()
        try:
            report = await import_catalog(file, backend.engine)
        finally:
            await backend.close()
        console.print(report.summary())
        for err in report.errors[:100]:
            console.print(f"  {err}")
        if len(report.errors) > 100:
            console.print(f"  … and {len(report.errors) - 100} more")
        return 1 if report.errors else 0

    raise typer.Exit(asyncio.run(body()))


@app.command("run")
def run_cmd(
    capability: list[Capability] = typer.Option(list(Capability), "--capability", "-c"),
    partner: list[int] = typer.Option([], "--partner", "-p"),
    sku: list[str] = typer.Option([], "--sku"),
    priority: str = typer.Option("medium"),
) -> None:
    """Plan tasks for the catalog and queue them as jobs (a worker runs them).

    A partner's pricing, stock and analytics wait for its card jobs: a follow-up job queues them as
    soon as the partner's cards are out."""
    from aimanager.pipelines.services.runs import start_run

    try:
        prio = Priority.parse(priority)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--priority'") from None

    async def body() -> None:
        from aimanager.db.engine import session_factory

        backend = await open_backend()
        try:
            run = await start_run(
                session_factory(backend.engine),
                backend,
                capability,
                partner_ids=partner or None,
                skus=sku or None,
                priority=prio,
            )
        finally:
            await backend.close()
        tasks = ", ".join(f"{k} {v}" for k, v in sorted(run.queued.items())) or (
            "nothing until cards are out" if run.waiting else "nothing to do"
        )
        console.print(f"queued {len(run.job_ids)} job(s) at {prio.name.lower()} priority: {tasks}")
        if run.waiting:
            waiting = ", ".join(f"{k} {v}" for k, v in sorted(run.waiting.items()))
            console.print(
                f"waiting on cards: {waiting} (queued by {len(run.followup_job_ids)} follow-up job(s) "
                "as each partner's cards are out)"
            )
        # What was not planned, and why (an account not connected): "nothing to do" must say why.
        for reason in run.skipped[:20]:
            console.print(f"  skipped: {reason}")
        if len(run.skipped) > 20:
            console.print(f"  … and {len(run.skipped) - 20} more skipped")

    asyncio.run(body())


@app.command()
def status() -> None:
    """Queue and AI spend at a glance."""
    from aimanager.cli.engine_cmd import jobs_stats

    jobs_stats(as_json=False)

    async def body() -> None:
        backend = await open_backend()
        try:
            async with backend.engine.connect() as conn:
                rows = (
                    await conn.execute(
                        select(
                            AIUsageLog.model, AIUsageLog.path, func.count(), func.sum(AIUsageLog.cost_usd)
                        ).group_by(AIUsageLog.model, AIUsageLog.path)
                    )
                ).all()
        finally:
            await backend.close()
        t = Table("model", "path", "rows", "cost USD", title="AI usage")
        for model, path, n, cost in rows:
            t.add_row(model, path, str(n), f"{Decimal(str(cost or 0)):.4f}")
        console.print(t)

    asyncio.run(body())


@app.command()
def report() -> None:
    """List the analytics reports written so far."""

    async def body() -> None:
        backend = await open_backend()
        try:
            async with backend.engine.connect() as conn:
                rows = (
                    await conn.execute(
                        select(
                            AnalyticsReport.partner_id, AnalyticsReport.created_at, AnalyticsReport.html_path
                        )
                        .order_by(AnalyticsReport.id.desc())
                        .limit(50)
                    )
                ).all()
        finally:
            await backend.close()
        for partner_id, created, path in rows:
            console.print(f"partner {partner_id}  {created:%Y-%m-%d %H:%M}  {path or '(dry run)'}")

    asyncio.run(body())
