"""CLI: the product's own commands — ``demo``, ``import``, ``run``, ``status``, ``report``."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from aimanager.cli.app import app, bench_app
from aimanager.cli.engine_cmd import open_backend
from aimanager.db.models import AIUsageLog, AnalyticsReport
from aimanager.domain.enums import Capability, Priority
from aimanager.logs import configure
from aimanager.settings import get_settings

if TYPE_CHECKING:
    from aimanager.harness.demo import DemoResult

console = Console()


@app.command()
def demo(
    partners: int = typer.Option(10, min=1, max=1000),
    skus: int = typer.Option(100, min=1, max=10_000),
    time_scale: float = typer.Option(0.02, help="Sandbox clock: 0.02 turns 2-5 s LLM calls into 40-100 ms."),
    concurrency: int = typer.Option(64, min=1),
) -> None:
    """Everything end to end on this machine: sample catalog → cards, prices, stock, analytics."""
    from aimanager.harness.demo import DemoOptions, run_demo

    settings = get_settings()
    configure("ERROR")
    opts = DemoOptions(partners=partners, skus=skus, time_scale=time_scale, concurrency=concurrency)

    async def body() -> None:
        result = await run_demo(settings, opts, console)
        _print_report(result)

    asyncio.run(body())


def _print_report(result: DemoResult) -> None:
    t = Table("capability", "tasks", "done", "failed", title="AI Manager demo")
    for cap in Capability:
        t.add_row(
            cap.value,
            str(result.tasks.get(cap.value, 0)),
            str(result.done.get(cap.value, 0)),
            str(result.failed.get(cap.value, 0)),
        )
    console.print(t)
    llm = result.llm
    console.print(
        f"wall time {result.wall_s:.1f} s · LLM calls {llm['calls']} · tokens in {llm['input_tokens']:,} / "
        f"out {llm['output_tokens']:,} · cost ${Decimal(llm['cost_usd']):.4f} · "
        f"cache hits {llm['cache_hits']}"
    )
    s = Table("priority", "jobs started", "started within SLA", title="start SLA")
    for prio in Priority:
        started, late = result.sla.get(prio.name.lower(), (0, 0))
        share = "-" if not started else f"{100 * (started - late) / started:.1f} %"
        s.add_row(prio.name.lower(), str(started), share)
    console.print(s)
    if result.previous_cost is not None:
        # Not the first run on this database: say what the unchanged catalog cost this time.
        console.print(
            f"[green]Repeat run: {llm['cache_hits']} cards came from the cache; {llm['calls']} LLM call(s) "
            f"(analytics narratives on today's figures) cost ${Decimal(llm['cost_usd']):.4f}, against "
            f"${result.previous_cost:.4f} spent by the earlier run(s) on this database."
        )
    if result.failures:
        console.print("failures (first 10):")
        for line in result.failures:
            console.print(f"  - {line}")
    if result.reports:
        console.print(
            f"analytics reports: {len(result.reports)} HTML files, e.g. {Path(result.reports[0]).resolve()}"
        )


@app.command("import")
def import_cmd(file: Path = typer.Argument(..., exists=False)) -> None:
    """Import a catalog (CSV or XLSX); bad rows are listed with file, row and field."""
    from aimanager.pipelines.catalog_import import import_catalog

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
    """Plan tasks for the catalog and queue them as jobs (a worker runs them)."""
    from aimanager.pipelines.planner import build_plan, enqueue_plan

    prio = Priority.parse(priority)

    async def body() -> None:
        from aimanager.db.engine import session_factory

        backend = await open_backend()
        try:
            plan = await build_plan(
                session_factory(backend.engine),
                capability,
                partner_ids=partner or None,
                skus=sku or None,
                priority=prio,
            )
            res = await enqueue_plan(backend, plan)
        finally:
            await backend.close()
        tasks = ", ".join(f"{k} {v}" for k, v in sorted(plan.tasks.items())) or "nothing to do"
        console.print(f"queued {len(res.ids)} job(s) at {prio.name.lower()} priority: {tasks}")

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


@bench_app.command("scenario")
def bench_scenario(
    partners: int = typer.Option(100, min=1),
    skus: int = typer.Option(100, min=1),
    time_scale: float = typer.Option(0.01, help="Compress every sandbox delay and window by this factor."),
    concurrency: int = typer.Option(128, min=1),
    urgent: int = typer.Option(50, help="Urgent single-SKU requests injected while the backlog runs."),
    baseline: bool = typer.Option(True, help="Also run the original design's approach."),
    baseline_partners: int = typer.Option(
        10, help="Run the original approach on this many partners and extrapolate (0: all of them)."
    ),
    llm_error_rate: float = typer.Option(0.05, help="Transient LLM errors (500/529) injected."),
    market_error_rate: float = typer.Option(0.02, help="Transient marketplace 5xx injected."),
    write: bool = typer.Option(True, help="Write the figures to BENCHMARKS.md."),
) -> None:
    """The original design's scenario, AI Manager and the original approach in one run."""
    import shlex
    import sys
    import tempfile

    from aimanager.bench.scenario import render, run_scenario
    from aimanager.benchmarks import machine_line, write_section
    from aimanager.settings import Settings

    configure("ERROR")
    workdir = Path(tempfile.mkdtemp(prefix="aim-scenario-"))
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{workdir / 'scenario.db'}", secret_key_file=workdir / "key"
    )
    ours, base, bound = asyncio.run(
        run_scenario(
            settings,
            partners=partners,
            skus=skus,
            time_scale=time_scale,
            concurrency=concurrency,
            urgent=urgent,
            baseline=baseline,
            llm_error_rate=llm_error_rate,
            market_error_rate=market_error_rate,
            baseline_partners=baseline_partners or None,
        )
    )
    from aimanager.bench.scenario import RunFigures

    command = "aimanager bench scenario " + " ".join(shlex.quote(a) for a in sys.argv[3:])
    md = render(
        ours,
        base or RunFigures("original design (not run)"),
        bound,
        command=command.strip(),
        machine=machine_line(),
        time_scale=time_scale,
        partners=partners,
        skus=skus,
    )
    console.print(md)
    if write:
        write_section("scenario", md)
