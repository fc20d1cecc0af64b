"""``aimanager bench scenario``: the original design's 100-partner scenario, ours and theirs, one run.

Both approaches run against the same loopback sandboxes (LLM: 2-5 s latency, 4,000 RPM, 800,000 output
TPM; marketplaces: their documented limits), compressed by one time scale:

* **AI Manager**: the planner groups tasks into jobs; one card generation serves a product's four
  marketplaces, packed 20 per LLM call; pricing and stock are code with bulk pushes; the engine runs it
  all with priorities while urgent single-SKU requests arrive.
* **Original design**: one LLM call per task for every capability (cards per marketplace, prices,
  stock, analytics), ten concurrent workers on a priority queue, three attempts with exponential
  backoff from 2 s, no packing, no cache, no sharing across marketplaces, one marketplace call per SKU.
"""

from __future__ import annotations

import asyncio
import cProfile
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from aimanager.db.crypto import CredentialBox
from aimanager.db.engine import make_engine
from aimanager.db.models import AIUsageLog
from aimanager.domain.enums import Capability
from aimanager.jobs import SQLBackend, Worker, WorkerConfig
from aimanager.pipelines.catalog.importer import import_catalog
from aimanager.pipelines.registry import pipeline_registry
from aimanager.pipelines.services.runs import RunStarted, start_run
from aimanager.pipelines.services.wiring import build_runtime
from aimanager.schema.migrate import upgrade
from aimanager.settings import Settings
from aimanager_lab.bench.figures import RunFigures, limit_bound, longest_call_s
from aimanager_lab.bench.original_design import run_baseline
from aimanager_lab.environment import (
    SandboxWorld,
    connect_partners,
    run_until_drained,
    urgent_repricings,
)
from aimanager_lab.sample_catalog import generate_catalog, write_catalog

# How often a partner's follow-up job looks whether its cards are out (in wall seconds, like the run).
FOLLOWUP_POLL_S = 0.5


async def prepare(world: SandboxWorld, url: str, settings: Settings, partners: int, skus: int) -> None:
    """A migrated database with the catalog and every partner connected to the sandboxes."""
    engine = make_engine(url)
    await upgrade(engine)
    from aimanager.db.engine import session_factory

    sessions = session_factory(engine)
    # Through a file and the importer, as `aimanager import` takes an operator's catalog.
    catalog = Path(tempfile.mkdtemp(prefix="aim-catalog-")) / "catalog.csv"
    await import_catalog(write_catalog(catalog, generate_catalog(partners, skus)), sessions)
    await connect_partners(world, sessions, CredentialBox.from_settings(settings))
    await engine.dispose()


async def run_ours(
    world: SandboxWorld, settings: Settings, *, concurrency: int, urgent: int, profile: str | None = None
) -> RunFigures:
    """AI Manager's way: plan, batch, pack, bulk — each partner priced, stocked and reported on as
    soon as its own cards are out, while urgent single-SKU repricing requests arrive. ``profile``: the
    run's cProfile stats (timer: process CPU time) are written there."""
    fig = RunFigures("AI Manager")
    engine = make_engine(settings.database_url, pool_size=20)
    backend = SQLBackend(engine)
    await backend.setup()
    # Configured as an operator configures the product (settings and saved accounts), no overrides.
    rt = await build_runtime(
        world.product_settings(settings),
        backend=backend,
        report_dir=Path(tempfile.mkdtemp(prefix="aim-reports-")),
    )
    profiler = cProfile.Profile(time.process_time) if profile else None
    started, cpu_started = time.monotonic(), time.process_time()
    started_epoch = time.time()  # the jobs table keeps epoch seconds
    if profiler is not None:
        profiler.enable()
    try:
        # One run of every capability, as ``aimanager run`` starts it: cards now, each partner's
        # pricing, stock and analytics by its follow-up job as soon as its own cards are out.
        run = await start_run(
            rt.sessions,
            rt.backend,
            [Capability.CARDS, Capability.PRICING, Capability.STOCK, Capability.ANALYTICS],
            poll_s=FOLLOWUP_POLL_S,
        )
        fig.tasks += sum(run.tasks.values())

        def count(request: RunStarted) -> None:
            fig.tasks += sum(request.tasks.values())

        # An operator's urgent repricings over half a minute, not one burst.
        operator = urgent_repricings(
            rt.sessions, rt.backend, urgent, every_s=0.5, poll_s=FOLLOWUP_POLL_S, on_run=count
        )

        # A quarter of the slots again as headroom for urgent work: at real time a repricing waits
        # seconds for the marketplace to apply it, so urgent requests need room of their own.
        worker = Worker(
            rt.backend, pipeline_registry(rt), WorkerConfig(concurrency=concurrency, urgent_reserve=0.25)
        )
        await run_until_drained(worker, rt.backend, [asyncio.create_task(operator)])
        fig.wall_s = time.monotonic() - started
        fig.cpu_s = time.process_time() - cpu_started
        if profiler is not None and profile:
            profiler.disable()
            profiler.dump_stats(profile)
        for prio, waits in worker.metrics.queue_wait_ms.items():
            fig.latency_ms.setdefault(prio, []).extend(waits)
        # A partner's cards were out when its follow-up job queued the rest and finished.
        cards_out = [
            job.finished_at - started_epoch
            for job in [await rt.backend.get(i) for i in run.followup_job_ids]
            if job is not None and job.finished_at is not None
        ]
        fig.phase_s = {"cards": max(cards_out, default=fig.wall_s), "all": fig.wall_s}
        stats = rt.gateway.stats()
        fig.llm_calls, fig.cost_usd = stats.calls, stats.cost_usd
        fig.input_tokens, fig.output_tokens = stats.usage.input_tokens, stats.usage.output_tokens
        async with rt.sessions() as session:
            fig.card_cost_usd = (
                await session.execute(
                    select(func.coalesce(func.sum(AIUsageLog.cost_usd), 0)).where(
                        AIUsageLog.task_kind == "card"
                    )
                )
            ).scalar_one()
        fig.succeeded = sum(rt.progress.done.values())
        fig.failures = rt.progress.failures[:10]
        q = await backend.stats()
        dead = q.by_status.get("dead", 0) + q.by_status.get("failed", 0)
        if dead:
            fig.failures.append(f"{dead} jobs dead-lettered")
    finally:
        await rt.aclose()
        await backend.close()
        await engine.dispose()
    return fig


async def run_scenario(
    settings: Settings,
    *,
    partners: int,
    skus: int,
    time_scale: float,
    concurrency: int,
    urgent: int,
    baseline: bool,
    llm_error_rate: float,
    market_error_rate: float,
    baseline_partners: int | None = None,
    baseline_settings: Settings | None = None,
    profile: str | None = None,
) -> tuple[RunFigures, RunFigures | None, dict[str, float]]:
    """Both approaches, each on sandboxes and a database of its own: the original design must not
    find the cards AI Manager already created in its accounts (nor the other way round)."""

    def new_world() -> SandboxWorld:
        return SandboxWorld(
            time_scale=time_scale, llm_error_rate=llm_error_rate, market_error_rate=market_error_rate
        ).start()

    world = new_world()
    try:
        await prepare(world, settings.database_url, settings, partners, skus)
        ours = await run_ours(world, settings, concurrency=concurrency, urgent=urgent, profile=profile)
    finally:
        world.stop()
    bound = limit_bound(
        ours, partners=partners, skus=skus, rpm=world.llm_rpm, itpm=4_000_000, otpm=world.llm_otpm
    )
    bound = {**bound, "total_s": bound["total_s"] + longest_call_s(ours, cards=partners * skus)}
    base = None
    if baseline:
        sample = baseline_partners if baseline_partners and baseline_partners < partners else partners
        base_settings = baseline_settings or settings
        base_world = new_world()
        try:
            await prepare(base_world, base_settings.database_url, base_settings, sample, skus)
            # Its urgent requests in proportion to the partners it covers: the sample is extrapolated,
            # and all 50 requests on a tenth of the catalogue would count ten times over.
            base = await run_baseline(
                base_world,
                base_settings,
                workers=10,
                urgent=max(1, round(urgent * sample / partners)),
                time_scale=time_scale,
            )
        finally:
            base_world.stop()
        if sample < partners:
            base.sample_factor = partners / sample
    return ours, base, bound
