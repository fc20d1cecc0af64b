"""``aimanager bench scenario``: the original design's 100-partner scenario, ours and theirs, one run.

Both approaches run against loopback sandboxes (LLM: 2-5 s latency, 4,000 RPM, 800,000 output TPM;
marketplaces: their documented limits), compressed by one time scale:

* **AI Manager**, through its public path only (``public_run``): ``aimanager sandbox up`` (with the
  scenario's fault rates), ``init``, ``import``, ``partners import``, one ``aimanager worker
  --concurrency C`` and ``aimanager run -c cards -c pricing -c stock -c analytics`` on the embedded
  SQLite database, while an operator sends urgent single-SKU repricings through the HTTP API
  (``aimanager serve``, ``POST /v1/runs``). The planner groups tasks into jobs; one card generation
  serves a product's four marketplaces, packed 20 per LLM call; pricing and stock are code with bulk
  pushes. Figures are read from the database (read-only) and the LLM sandbox's stats afterwards.
* **Original design** (the comparison model, not the product, so in process): one LLM call per task
  for every capability (cards per marketplace, prices, stock, analytics), ten concurrent workers on a
  priority queue, three attempts with exponential backoff from 2 s, no packing, no cache, no sharing
  across marketplaces, one marketplace call per SKU; on sandboxes and a database of its own.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from aimanager.db.crypto import CredentialBox
from aimanager.db.engine import make_engine
from aimanager.pipelines.catalog.importer import import_catalog
from aimanager.schema.migrate import upgrade
from aimanager.settings import Settings
from aimanager_lab.bench.figures import RunFigures, limit_bound, longest_call_s
from aimanager_lab.bench.fleet import FleetOptions
from aimanager_lab.bench.original_design import run_baseline
from aimanager_lab.bench.public_run import RunContext, planned_tasks, run_public
from aimanager_lab.environment import SandboxWorld, connect_partners
from aimanager_lab.sample_catalog import generate_catalog, write_catalog
from aimanager_sandbox.knobs import SandboxKnobs

# The LLM sandbox's limits that `sandbox up` keeps (its defaults).
LLM_RPM, LLM_ITPM, LLM_OTPM = 4000, 4_000_000, 800_000
URGENT_EVERY_S = 0.5  # an operator's urgent repricings over half a minute, not one burst


async def prepare(world: SandboxWorld, url: str, settings: Settings, partners: int, skus: int) -> None:
    """The original design's database: migrated, the catalog imported, every partner connected."""
    engine = make_engine(url)
    await upgrade(engine)
    from aimanager.db.engine import session_factory

    sessions = session_factory(engine)
    catalog = Path(tempfile.mkdtemp(prefix="aim-catalog-")) / "catalog.csv"
    await import_catalog(write_catalog(catalog, generate_catalog(partners, skus)), sessions)
    await connect_partners(world, sessions, CredentialBox.from_settings(settings))
    await engine.dispose()


async def urgent_over_api(ctx: RunContext, count: int, *, every_s: float = URGENT_EVERY_S) -> dict[str, int]:
    """An operator's urgent single-SKU repricings of the catalog's first ``count`` SKUs, one every
    ``every_s``, each ``POST /v1/runs {"capabilities": ["pricing"], "skus": [S], "priority": "urgent"}``
    (it waits for its partner's cards like any follow-up); the tasks they planned, by capability."""
    import httpx

    planned: dict[str, int] = {}
    skus = list(dict.fromkeys(row["sku"] for row in ctx.catalog))[:count]
    headers = {"Authorization": f"Bearer {ctx.api_token}"}
    async with httpx.AsyncClient(
        base_url=ctx.api_url or "", headers=headers, timeout=120.0, trust_env=False
    ) as client:
        for sku in skus:
            await asyncio.sleep(every_s)
            answer = await client.post(
                "/v1/runs", json={"capabilities": ["pricing"], "skus": [sku], "priority": "urgent"}
            )
            answer.raise_for_status()
            body = answer.json()
            for part in ("queued", "waiting"):
                for capability, n in body[part].items():
                    planned[capability] = planned.get(capability, 0) + int(n)
    return planned


def ours_figures(fig: RunFigures, run_output: str) -> RunFigures:
    """AI Manager's figures as the scenario shows them. Tasks: what ``aimanager run`` planned. The tasks
    table keeps one outcome per (partner, capability, marketplace, SKU), so an urgent repricing of a SKU
    the run also prices is the same task done again, not a new one: the urgent requests show in their
    start latency (and in the failures if their jobs failed). A planned task that never ran has no
    outcome row, so it counts in the tasks and not in the succeeded."""
    planned = sum(planned_tasks(run_output).values())
    return replace(fig, name="AI Manager", tasks=max(planned, fig.tasks))


@dataclass(frozen=True)
class ScenarioOptions:
    """One ``bench scenario`` run: the catalog, the worker, the operator's urgent repricings and the
    faults injected (on both approaches' sandboxes)."""

    partners: int
    skus: int
    time_scale: float
    concurrency: int
    urgent: int
    llm_error_rate: float
    market_error_rate: float


async def run_ours(
    settings: Settings,
    run: ScenarioOptions,
    log: Callable[[str], None] = lambda _: None,
    timeout_s: float = 7200.0,
) -> tuple[RunFigures, dict[str, Any]]:
    """AI Manager through its public commands; its figures and the run's counts (planned tasks by
    capability under ``planned``, the LLM sandbox's stats under ``llm``)."""
    options = FleetOptions(
        partners=run.partners,
        skus=run.skus,
        concurrency=run.concurrency,
        time_scale=run.time_scale,
        pg_url=settings.database_url,
        redis_url="",
        timeout_s=timeout_s,
        sample_s=0.5,
        single_worker=True,
        sandbox=SandboxKnobs(llm_error_rate=run.llm_error_rate, market_error_rate=run.market_error_rate),
    )

    async def operator(ctx: RunContext) -> dict[str, int]:
        return await urgent_over_api(ctx, run.urgent) if run.urgent else {}

    done = await run_public(options, log, during=operator, api=bool(run.urgent))
    fig = ours_figures(done.figures, done.run_output)
    if not done.drained:
        fig.failures.append("the queue did not drain before the timeout")
    counts = {
        **done.counts,
        "planned": planned_tasks(done.run_output),
        "urgent_planned": done.during or {},
        "llm": done.llm_stats,
    }
    return fig, counts


async def run_scenario(
    settings: Settings,
    run: ScenarioOptions,
    *,
    baseline: bool,
    baseline_partners: int | None = None,
    baseline_settings: Settings | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> tuple[RunFigures, RunFigures | None, dict[str, float]]:
    """Both approaches, each on sandboxes and a database of its own: the original design must not
    find the cards AI Manager already created in its accounts (nor the other way round)."""

    partners, skus, urgent = run.partners, run.skus, run.urgent

    def new_world() -> SandboxWorld:
        return SandboxWorld(
            time_scale=run.time_scale,
            llm_error_rate=run.llm_error_rate,
            market_error_rate=run.market_error_rate,
        ).start()

    ours, _ = await run_ours(settings, run, log=log)
    bound = limit_bound(ours, partners=partners, skus=skus, rpm=LLM_RPM, itpm=LLM_ITPM, otpm=LLM_OTPM)
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
                time_scale=run.time_scale,
            )
        finally:
            base_world.stop()
        if sample < partners:
            base.sample_factor = partners / sample
    return ours, base, bound
