"""CLI: the catalog and its work — ``import``, ``run``, ``status``, ``report``."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from aimanager.cli.app import app, priority_name
from aimanager.cli.engine_cmd import open_backend
from aimanager.db.engine import session_factory
from aimanager.domain.enums import Capability
from aimanager.jobs import Priority

console = Console()


@app.command("import")
def import_cmd(
    file: Path | None = typer.Argument(None, help="The catalog: CSV (UTF-8 or Windows-1251) or XLSX."),
    check: bool = typer.Option(
        False, "--check", help="Validate and report what would change; write nothing."
    ),
    template: Path | None = typer.Option(
        None,
        "--template",
        metavar="PATH",
        help="Write the catalog template (.xlsx: three sheets; .csv: header + # notes) with every "
        "column and every marketplace's required attributes per category, then stop.",
    ),
    rates: Path | None = typer.Option(
        None,
        "--rates",
        metavar="FILE",
        help='TOML of exchange rates ("USD/UZS" = 12650) for costs in another currency than the '
        "marketplaces' prices; without it such a row is rejected.",
    ),
) -> None:
    """Import a catalog (CSV or XLSX); bad rows are listed with row, column and cell, exit 1 if any.

    Good rows land together in one transaction; a rejected row changes nothing.

    An empty cell or a missing column keeps the stored value; a cell with only "-" clears it."""
    from aimanager.pipelines.catalog.importer import import_catalog
    from aimanager.pipelines.catalog.rates import load_rates

    if template is not None:
        if file is not None or check or rates is not None:
            raise typer.BadParameter("writes a template only; give no FILE, --check or --rates with it",
                                     param_hint="'--template'")  # fmt: skip
        from aimanager.pipelines.catalog.template import write_template

        written = write_template(template)
        console.print(f"catalog template written to {written}")
        return
    if file is None:
        raise typer.BadParameter("give the catalog to import (or --template PATH)", param_hint="'FILE'")
    if not file.is_file():
        raise typer.BadParameter(f"{file}: no such file", param_hint="'FILE'")
    if rates is not None and not rates.is_file():
        raise typer.BadParameter(f"{rates}: no such file", param_hint="'--rates'")
    rate_table = load_rates(rates) if rates is not None else None

    async def body() -> int:
        from aimanager.errors import StoreError

        try:
            backend = await open_backend()
        except StoreError as exc:
            if not check:
                raise
            # A check needs no database: validate the file, say that nothing was compared.
            console.print(f"note: {exc}; checking the file alone (no new/updated counts)", markup=False)
            report = await import_catalog(file, None, check=True, rates=rate_table)
        else:
            try:
                report = await import_catalog(file, backend.engine, check=check, rates=rate_table)
            finally:
                await backend.close()
        for warning in report.warnings:
            console.print(f"warning: {warning}", style="yellow", soft_wrap=True, markup=False)
        for note in report.notes():
            console.print(f"note: {note}", soft_wrap=True, markup=False)
        console.print(report.summary(), soft_wrap=True, markup=False)
        if report.errors:
            console.print(f"{len(report.bad_rows)} row(s) rejected, nothing of them imported:")
            for line in report.per_row():
                console.print(f"  {line}", soft_wrap=True, markup=False, highlight=False)
        return 1 if report.errors else 0

    code = asyncio.run(body())
    if code:
        # SystemExit, not typer.Exit: with standalone_mode=False click turns Exit into a return value
        # and the process would end 0 with rejected rows.
        sys.exit(code)


@app.command("run")
def run_cmd(
    capability: list[Capability] = typer.Option(list(Capability), "--capability", "-c"),
    partner: list[int] = typer.Option([], "--partner", "-p"),
    sku: list[str] = typer.Option([], "--sku"),
    priority: str = typer.Option(
        "medium", callback=priority_name, help="urgent, high, medium or low (reports: medium → low)."
    ),
) -> None:
    """Plan tasks for the catalog and queue them as jobs (a worker runs them).

    A partner's pricing, stock and analytics wait for its card jobs: a follow-up job queues them as
    soon as the partner's cards are out."""
    from aimanager.pipelines.services.runs import start_run

    prio = Priority.parse(priority)  # checked while parsing (``priority_name``)

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
        console.print(run_summary(run, prio), soft_wrap=True, markup=False)
        if run.waiting:
            waiting = ", ".join(
                f"{k} {v} ({run.priorities.get(k, '?')})" for k, v in sorted(run.waiting.items())
            )
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


def run_summary(run: Any, asked: Priority) -> str:
    """``queued 3 job(s): cards 40 (medium), analytics 1 (low)``: each capability with the priority
    its jobs really got (a report asked at medium is queued at low), not only the one asked for."""
    tasks = ", ".join(
        f"{k} {v} ({run.priorities.get(k, asked.name.lower())})" for k, v in sorted(run.queued.items())
    )
    if not tasks:
        tasks = "nothing until cards are out" if run.waiting else "nothing to do"
    return f"queued {len(run.job_ids)} job(s), asked at {asked.name.lower()} priority: {tasks}"


@app.command()
def status() -> None:
    """Queue and AI spend at a glance."""
    from aimanager.cli.engine_cmd import jobs_stats

    jobs_stats(as_json=False)

    async def body() -> None:
        from aimanager.pipelines.services.spend import spend

        now = datetime.now(UTC)
        month = datetime(now.year, now.month, 1, tzinfo=UTC)
        backend = await open_backend()
        try:
            async with session_factory(backend.engine)() as session:
                # Through the spend service, as the API and console read it: closed days from the daily
                # rollup, only today from the ledger.
                rows = await spend(session, None, group="model", since=month, until=now, now=now)
        finally:
            await backend.close()
        title = f"AI spend in {month:%Y-%m}"
        t = Table("model", "calls", "input tokens", "output tokens", "cost USD", title=title)
        for row in rows:
            t.add_row(
                row.key, str(row.calls), str(row.input_tokens), str(row.output_tokens), f"{row.cost_usd:.4f}"
            )
        console.print(t if rows else f"{title}: none yet")

    asyncio.run(body())


@app.command()
def report() -> None:
    """List the analytics reports written so far."""

    async def body() -> None:
        from aimanager.pipelines.services.directory import list_reports

        backend = await open_backend()
        try:
            async with session_factory(backend.engine)() as session:
                rows = await list_reports(session, None, limit=50)
        finally:
            await backend.close()
        for r in rows:
            console.print(
                f"partner {r.partner_id}  {r.created_at:%Y-%m-%d %H:%M}  {r.html_path or '(dry run)'}"
            )

    asyncio.run(body())
