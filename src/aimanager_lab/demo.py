"""``aimanager demo``: the whole product on one machine, end to end, with a report.

Creates (or reuses) the SQLite database, generates a sample catalog, starts the LLM and marketplace
sandboxes on loopback, connects every partner, then starts one run of the four capabilities as
``aimanager run`` does and drains the queue through one worker as ``aimanager worker`` does: cards for
every partner, and each partner's prices, stock and analytics as soon as its own cards are out (a
marketplace lists a product before it can price or stock it; the product's follow-up jobs see to
that), with a few urgent single-SKU repricings thrown in while the backlog runs. Run it twice: the
second run writes no new card text, so its LLM cost is (almost) zero.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import func, select, text

from aimanager.db.crypto import CredentialBox
from aimanager.db.engine import make_engine
from aimanager.db.models import AIUsageLog, AnalyticsReport
from aimanager.domain.enums import Capability
from aimanager.jobs import Priority, SQLBackend, Worker, WorkerConfig
from aimanager.pipelines.catalog.importer import import_catalog
from aimanager.pipelines.registry import pipeline_registry
from aimanager.pipelines.services.runs import RunStarted, start_run
from aimanager.pipelines.services.runtime import Runtime
from aimanager.pipelines.services.wiring import build_runtime
from aimanager.schema.migrate import upgrade
from aimanager.settings import Settings
from aimanager_lab.environment import (
    SandboxWorld,
    connect_partners,
    run_until_drained,
    urgent_repricings,
)
from aimanager_lab.sample_catalog import generate_catalog, write_catalog


@dataclass
class DemoOptions:
    partners: int = 10
    skus: int = 100
    time_scale: float = 0.02
    concurrency: int = 64
    urgent: int = 5
    report_dir: Path = Path("reports")


@dataclass
class DemoResult:
    wall_s: float = 0.0
    tasks: dict[str, int] = field(default_factory=dict)
    done: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    llm: dict[str, Any] = field(default_factory=dict)
    sla: dict[str, tuple[int, int]] = field(default_factory=dict)  # priority → (started, late)
    reports: list[str] = field(default_factory=list)
    previous_cost: Decimal | None = None  # AI spend of earlier runs on this database (None: first run)


async def _sla_since(engine: Any, *, since: float) -> dict[str, tuple[int, int]]:
    """Per priority, the jobs this run started and how many of them started after their deadline."""
    out = {p.name.lower(): (0, 0) for p in Priority}
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT priority, count(*), sum(CASE WHEN started_at > deadline THEN 1 ELSE 0 END)"
                " FROM jobs WHERE started_at IS NOT NULL AND enqueued_at >= :since GROUP BY priority"
            ),
            {"since": since},
        )
        for prio, n_started, n_late in rows:
            out[Priority(int(prio)).name.lower()] = (int(n_started), int(n_late or 0))
    return out


async def run_demo(settings: Settings, opts: DemoOptions, console: Console) -> DemoResult:
    """Run the demo; returns the figures the report prints."""
    started = time.monotonic()
    started_at = time.time()  # the jobs table's clock: this run's jobs, not every earlier run's
    engine = make_engine(settings.database_url)
    await upgrade(engine)
    async with engine.connect() as conn:
        rows, spent = (
            await conn.execute(select(func.count(), func.coalesce(func.sum(AIUsageLog.cost_usd), 0)))
        ).one()
    backend = SQLBackend(engine)
    world = SandboxWorld(time_scale=opts.time_scale).start()
    rt: Runtime | None = None
    try:
        # Configured as an operator configures the product (settings and saved accounts), no overrides.
        settings = world.product_settings(settings)
        rt = await build_runtime(settings, backend=backend, report_dir=opts.report_dir)
        # Through a file and the importer, as `aimanager import` takes an operator's catalog.
        catalog = write_catalog(
            opts.report_dir / "sample-catalog.csv", generate_catalog(opts.partners, opts.skus)
        )
        console.print(f"catalog: {opts.partners} partners × {opts.skus} SKUs × 4 marketplaces ({catalog})")
        report = await import_catalog(catalog, rt.sessions)
        if report.errors:
            console.print(f"[yellow]{len(report.errors)} catalog rows rejected; first: {report.errors[0]}")
        await connect_partners(world, rt.sessions, CredentialBox.from_settings(settings))
        await backend.setup()
        result = DemoResult(previous_cost=Decimal(str(spent)) if rows else None)
        await _run_all(rt, console, opts, result)
        result.wall_s = time.monotonic() - started
        result.llm = rt.gateway.stats().as_dict()
        result.failures = rt.progress.failures[:50]
        result.done, result.failed = dict(rt.progress.done), dict(rt.progress.failed)
        result.sla = await _sla_since(engine, since=started_at)
        async with rt.sessions() as session:
            paths = (await session.execute(select(AnalyticsReport.html_path))).scalars().all()
        result.reports = sorted({p for p in paths if p})
        return result
    finally:
        if rt is not None:
            await rt.aclose()
        world.stop()
        await backend.close()
        await engine.dispose()


CAPABILITIES = [Capability.CARDS, Capability.PRICING, Capability.STOCK, Capability.ANALYTICS]
# How often a partner's follow-up job looks whether its cards are out (the demo runs time-compressed).
FOLLOWUP_POLL_S = 0.2


async def _run_all(rt: Runtime, console: Console, opts: DemoOptions, result: DemoResult) -> None:
    """One run of every capability, as ``aimanager run`` starts it, and an operator's urgent
    single-SKU repricings arriving meanwhile, as ``aimanager run -c pricing --sku X --priority urgent``
    starts them; one worker runs them all until the queue is drained, as ``aimanager worker`` would."""

    def count(run: RunStarted) -> None:
        # Follow-up tasks are planned when their partner's cards are out; the run reports them as
        # planned now, which is what the bars count.
        for cap, n in run.tasks.items():
            result.tasks[cap] = result.tasks.get(cap, 0) + n

    count(await start_run(rt.sessions, rt.backend, CAPABILITIES, poll_s=FOLLOWUP_POLL_S))
    operator = urgent_repricings(
        rt.sessions, rt.backend, opts.urgent, every_s=0.3, poll_s=FOLLOWUP_POLL_S, on_run=count
    )

    worker = Worker(rt.backend, pipeline_registry(rt), WorkerConfig(concurrency=opts.concurrency))
    bars = Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[red]{task.fields[failed]} failed"),
        TimeElapsedColumn(),
        console=console,
    )
    ids = {c: bars.add_task(c.value, total=result.tasks.get(c.value, 0), failed=0) for c in CAPABILITIES}
    base_done = {c: rt.progress.done[c.value] for c in CAPABILITIES}
    base_failed = {c: rt.progress.failed[c.value] for c in CAPABILITIES}

    async def refresh() -> None:
        while True:
            show_progress(bars, ids, rt, base_done, base_failed, result.tasks)
            await asyncio.sleep(0.1)

    with bars:
        ticker = asyncio.create_task(refresh())
        await run_until_drained(worker, rt.backend, [asyncio.create_task(operator)])
        ticker.cancel()
        show_progress(bars, ids, rt, base_done, base_failed, result.tasks)


def show_progress(
    bars: Progress,
    ids: dict[Capability, Any],
    rt: Runtime,
    done0: dict[Capability, int],
    failed0: dict[Capability, int],
    totals: dict[str, int],
) -> None:
    """Update each capability's bar with the tasks done and failed since the phase began (totals
    grow when urgent requests add tasks during the phase)."""
    for c, tid in ids.items():
        done = rt.progress.done[c.value] - done0[c]
        failed = rt.progress.failed[c.value] - failed0[c]
        bars.update(tid, total=totals.get(c.value, 0), completed=done + failed, failed=failed)
