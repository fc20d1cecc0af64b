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
import heapq
import itertools
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from aimanager.connectors.base import CardPush, PriceUpdate, StockUpdate
from aimanager.connectors.ratelimit import plan_bulk
from aimanager.connectors.registry import bulk_profiles
from aimanager.db.crypto import CredentialBox
from aimanager.db.engine import make_engine
from aimanager.db.models import AIUsageLog, Listing, Partner, Product
from aimanager.domain.enums import Capability, Marketplace
from aimanager.jobs import Priority, SQLBackend, Worker, WorkerConfig
from aimanager.llm import CardRequest, NarrativeRequest
from aimanager.pipelines.capabilities.cards import card_dimensions
from aimanager.pipelines.catalog.importer import product_facts
from aimanager.pipelines.registry import pipeline_registry
from aimanager.pipelines.services.runs import start_run
from aimanager.pipelines.services.runtime import Runtime
from aimanager.pipelines.services.wiring import build_runtime
from aimanager.schema.migrate import upgrade
from aimanager.settings import Settings
from aimanager_lab.environment import SandboxWorld, connect_partners, run_until_drained
from aimanager_lab.sample_catalog import generate_catalog, insert_catalog

# How often a partner's follow-up job looks whether its cards are out (in wall seconds, like the run).
FOLLOWUP_POLL_S = 0.5


@dataclass
class RunFigures:
    name: str
    wall_s: float = 0.0
    tasks: int = 0
    succeeded: int = 0
    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    card_cost_usd: Decimal = Decimal(0)
    latency_ms: dict[str, list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    # >1 when the run covered a sample of the partners: totals are extrapolated by this factor.
    sample_factor: float = 1.0
    phase_s: dict[str, float] = field(default_factory=dict)
    cpu_s: float = 0.0  # CPU time of this process (all its threads) during the run

    def pct(self, prio: str, q: float) -> float | None:
        xs = sorted(self.latency_ms.get(prio, []))
        if not xs:
            return None
        return xs[min(len(xs) - 1, int(len(xs) * q))]


async def prepare(world: SandboxWorld, url: str, settings: Settings, partners: int, skus: int) -> None:
    """A migrated database with the catalog and every partner connected to the sandboxes."""
    engine = make_engine(url)
    await upgrade(engine)
    from aimanager.db.engine import session_factory

    sessions = session_factory(engine)
    await insert_catalog(sessions, generate_catalog(partners, skus))
    await connect_partners(world, sessions, CredentialBox.from_settings(settings))
    await engine.dispose()


async def run_ours(world: SandboxWorld, settings: Settings, *, concurrency: int, urgent: int) -> RunFigures:
    """AI Manager's way: plan, batch, pack, bulk — each partner priced, stocked and reported on as
    soon as its own cards are out, while urgent single-SKU repricing requests arrive."""
    fig = RunFigures("AI Manager")
    engine = make_engine(settings.database_url, pool_size=20)
    backend = SQLBackend(engine)
    await backend.setup()
    rt = await build_runtime(
        settings,
        backend=backend,
        gateway_config=world.gateway_config(),
        connector_overrides=world.connector_overrides(),
        report_dir=Path(tempfile.mkdtemp(prefix="aim-reports-")),
    )
    started, cpu_started = time.monotonic(), time.process_time()
    started_epoch = time.time()  # the jobs table keeps epoch seconds
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
        async with rt.sessions() as session:
            first_skus = (
                (await session.execute(select(Product.sku).order_by(Product.id).limit(urgent)))
                .scalars()
                .all()
            )

        async def operator() -> None:
            # An operator's urgent single-SKU repricings over half a minute, not one burst, as
            # ``aimanager run -c pricing --sku X --priority urgent`` starts them (they wait for the
            # SKU's partner's cards like any follow-up).
            for sku in first_skus:
                await asyncio.sleep(0.5)
                request = await start_run(
                    rt.sessions,
                    rt.backend,
                    [Capability.PRICING],
                    skus=[sku],
                    priority=Priority.URGENT,
                    poll_s=FOLLOWUP_POLL_S,
                )
                fig.tasks += sum(request.tasks.values())

        # A quarter of the slots again as headroom for urgent work: at real time a repricing waits
        # seconds for the marketplace to apply it, so urgent requests need room of their own.
        worker = Worker(
            rt.backend, pipeline_registry(rt), WorkerConfig(concurrency=concurrency, urgent_reserve=0.25)
        )
        await run_until_drained(worker, rt.backend, [asyncio.create_task(operator())])
        fig.wall_s = time.monotonic() - started
        fig.cpu_s = time.process_time() - cpu_started
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


async def run_baseline(
    world: SandboxWorld,
    settings: Settings,
    *,
    workers: int,
    urgent: int,
    time_scale: float,
    partners: int | None = None,
) -> RunFigures:
    """The original design: one LLM call and one marketplace call per task, ten workers, 3 attempts.

    ``partners`` limits it to the first N partners (its time grows linearly with the task count:
    ten workers, a fixed cost per task), so a long run can be sampled; the report says so.
    """
    fig = RunFigures("original design")
    engine = make_engine(settings.database_url, pool_size=20)
    rt = await build_runtime(
        settings,
        backend=SQLBackend(engine),
        gateway_config=world.gateway_config(pack_size=1, cache_store="none", concurrency_max=workers),
        connector_overrides=world.connector_overrides(),
    )
    async with rt.sessions() as session:
        rows = (
            await session.execute(
                select(Listing, Product).join(Product, Product.id == Listing.product_id).order_by(Product.id)
            )
        ).all()
        partner_ids = (await session.execute(select(Partner.id).order_by(Partner.id))).scalars().all()
    if partners is not None:
        partner_ids = partner_ids[:partners]
        keep = set(partner_ids)
        rows = [r for r in rows if r[0].partner_id in keep]
    seq = itertools.count()
    queue: list[tuple[int, int, float, tuple[Any, ...]]] = []
    now = time.monotonic()
    # FIFO within a priority, as in Bull: every card first, then prices, then stock.
    for kind in ("card", "price", "stock"):
        for listing, product in rows:
            heapq.heappush(queue, (int(Priority.MEDIUM), next(seq), now, (kind, listing, product)))
    for pid in partner_ids:
        heapq.heappush(queue, (int(Priority.MEDIUM), next(seq), now, ("analytics", pid)))
    fig.tasks = len(queue)
    wake = asyncio.Event()

    async def worker() -> None:
        while queue:
            prio, _, enq, task = heapq.heappop(queue)
            fig.latency_ms.setdefault(Priority(prio).name.lower(), []).append((time.monotonic() - enq) * 1000)
            for attempt in range(3):
                try:
                    await _baseline_task(rt, task)
                    fig.succeeded += 1
                    break
                except Exception as exc:
                    if attempt == 2:
                        fig.failures.append(f"{task[0]}: {type(exc).__name__}: {exc}"[:200])
                    else:
                        await asyncio.sleep(2.0 * (2**attempt) * time_scale)
        wake.set()

    async def inject() -> None:
        for listing, product in rows[:urgent]:
            await asyncio.sleep(0.05)
            heapq.heappush(
                queue, (int(Priority.URGENT), next(seq), time.monotonic(), ("price", listing, product))
            )
            fig.tasks += 1

    started = time.monotonic()
    try:
        await asyncio.gather(inject(), *(worker() for _ in range(workers)))
        fig.wall_s = time.monotonic() - started
        stats = rt.gateway.stats()
        fig.llm_calls, fig.cost_usd = stats.calls, stats.cost_usd
        fig.input_tokens, fig.output_tokens = stats.usage.input_tokens, stats.usage.output_tokens
    finally:
        await rt.aclose()
        await engine.dispose()
    return fig


async def _baseline_task(rt: Runtime, task: tuple[Any, ...]) -> None:
    kind = task[0]
    if kind == "analytics":
        await rt.gateway.write_narrative(NarrativeRequest(partner_id=task[1], facts={"task": "analytics"}))
        return
    listing, product = task[1], task[2]
    market = Marketplace(listing.marketplace)
    conn = await rt.connectors.get(listing.partner_id, market)
    facts = product_facts(product)
    if kind == "card":
        [res] = await rt.gateway.generate_cards(
            [CardRequest(f"{product.id}:{market.value}", listing.partner_id, facts)]
        )
        if res.draft is None:
            raise RuntimeError(res.error or "no card")
        from aimanager.domain.categories import category_for

        ref = category_for(product.category, market)
        card = CardPush.from_draft(
            offer_id=product.sku,
            category_id=ref.category_id if ref else "0",
            draft=res.draft,
            type_id=ref.type_id if ref else None,
            barcode=product.barcode,
            brand=product.brand,
            price=listing.price,
            images=list(product.images or []),
            extra={"ikpu": str((product.attributes or {}).get("ИКПУ", ""))},
            **card_dimensions(product.attributes or {}),
        )
        report = await conn.push_cards([card])
    elif kind == "price":
        narrative = await rt.gateway.write_narrative(
            NarrativeRequest(
                partner_id=listing.partner_id, facts={"sku": product.sku, "price": str(listing.price)}
            )
        )
        _ = narrative
        report = await conn.update_prices([PriceUpdate(offer_id=product.sku, price=listing.price)])
    else:
        await rt.gateway.write_narrative(
            NarrativeRequest(
                partner_id=listing.partner_id, facts={"sku": product.sku, "stock": product.stock}
            )
        )
        report = await conn.update_stocks([StockUpdate(offer_id=product.sku, quantity=max(0, product.stock))])
    if report.failed:
        raise RuntimeError(f"{report.failed[0].code}: {report.failed[0].message}")


def limit_bound(
    ours: RunFigures, *, partners: int, skus: int, rpm: int, itpm: int, otpm: int
) -> dict[str, float]:
    """Least wall time (sandbox seconds) the limits allow for our run: LLM first, then the bulk writes."""
    llm = 60.0 * max(ours.llm_calls / rpm, ours.input_tokens / itpm, ours.output_tokens / otpm)
    market = 0.0
    for prof in bulk_profiles():
        price = plan_bulk(
            prof.price_batch, prof.price_limits, partners=partners, skus=skus, follow=prof.price_follow_calls
        )
        stock = plan_bulk(prof.stock_batch, prof.stock_limits, partners=partners, skus=skus)
        market = max(market, price.seconds, stock.seconds)
    return {"llm_s": llm, "market_s": market, "total_s": llm + market}


def render(
    ours: RunFigures,
    base: RunFigures,
    bound: dict[str, float],
    *,
    command: str,
    machine: str,
    time_scale: float,
    partners: int,
    skus: int,
) -> str:
    """Markdown for BENCHMARKS.md."""

    def lat(f: RunFigures, prio: str) -> str:
        p50, p99 = f.pct(prio, 0.5), f.pct(prio, 0.99)
        return "-" if p50 is None or p99 is None else f"{p50:,.0f} / {p99:,.0f}"

    def row(label: str, a: str, b: str) -> str:
        return f"| {label} | {a} | {b} |"

    k = base.sample_factor
    sampled = (
        f" (measured on {base.tasks:,} tasks = 1/{k:g} of the partners, totals ×{k:g})" if k != 1 else ""
    )
    lines = [
        "## Scenario: 100 partners × 4 marketplaces × 100 SKUs",
        "",
        f"Command: `{command}` — {machine}. Time scale {time_scale:g} (1 = real time): sandbox delays and",
        "limit windows are multiplied by it.",
        "The original design is latency-bound (ten workers waiting on calls): its time grows linearly with",
        "its task count, which is what makes sampling it on a subset of partners and scaling up sound.",
        f"Catalog: {partners} partners × {skus} SKUs on 4 marketplaces.",
        "",
        "| measure | AI Manager | original design |",
        "|---|---|---|",
        row("tasks", f"{ours.tasks:,}", f"{base.tasks * k:,.0f}{sampled}"),
        row("wall time (s)", f"{ours.wall_s:,.1f}", f"{base.wall_s * k:,.1f}"),
        row("speed-up", f"{base.wall_s * k / ours.wall_s:,.1f}×" if ours.wall_s else "-", "1×"),
        row("LLM calls", f"{ours.llm_calls:,}", f"{base.llm_calls * k:,.0f}"),
        row(
            "input / output tokens",
            f"{ours.input_tokens:,} / {ours.output_tokens:,}",
            f"{base.input_tokens * k:,.0f} / {base.output_tokens * k:,.0f}",
        ),
        row("AI cost (pinned prices)", f"${ours.cost_usd:.2f}", f"${base.cost_usd * Decimal(str(k)):.2f}"),
        row("AI cost of the 40,000 card tasks", f"${ours.card_cost_usd:.2f}", "-"),
        row(
            "tasks succeeded",
            f"{ours.succeeded:,} ({100 * ours.succeeded / max(1, ours.tasks):.2f} %)",
            f"{base.succeeded:,} ({100 * base.succeeded / max(1, base.tasks):.2f} %)",
        ),
        row("start latency p50 / p99, urgent (ms)", lat(ours, "urgent"), lat(base, "urgent")),
        row("start latency p50 / p99, medium (ms)", lat(ours, "medium"), lat(base, "medium")),
        row("start latency p50 / p99, low (ms)", lat(ours, "low"), lat(base, "low")),
        "",
        f"Bound set by the sandbox limits for AI Manager's calls: LLM {bound['llm_s'] * time_scale:,.1f} s "
        f"+ bulk writes {bound['market_s'] * time_scale:,.1f} s = {bound['total_s'] * time_scale:,.1f} s wall "
        f"({bound['total_s'] / 60:,.1f} min real); AI Manager took "
        f"{ours.wall_s / max(1e-9, bound['total_s'] * time_scale):.2f}× the bound.",
    ]
    if ours.phase_s:
        cards_s = ours.phase_s.get("cards", 0.0)
        llm_s = bound["llm_s"] * time_scale
        lines += [
            "",
            f"AI Manager's last partner had its cards out at {cards_s:,.1f} s, against the LLM bound of "
            f"{llm_s:,.1f} s ({cards_s / max(1e-9, llm_s):.2f}×); each partner's pricing, stock and "
            "analytics jobs are queued as soon as its own cards are out, so they overlap the card "
            f"backlog of the others and the run ended {ours.wall_s - cards_s:,.1f} s after the last cards. "
            "Stock and analytics share one read of each account's order history (WB's finance report "
            "allows one request per minute per account).",
            "",
            f"AI Manager's worker process used {ours.cpu_s:,.0f} s of CPU in {ours.wall_s:,.0f} s of wall "
            f"time ({100 * ours.cpu_s / max(1e-9, ours.wall_s):.0f} % of one core; the sandboxes run in "
            "another process). Near 100 %, the run is bound by this one process's CPU, not by the "
            "sandboxes' limits: the bound above counts only the latter.",
        ]
    if ours.failures:
        lines += ["", "AI Manager's failures (first few): " + "; ".join(ours.failures[:6])]
    if base.failures:
        lines += ["", "The original design's failures (first few): " + "; ".join(base.failures[:6])]
    return "\n".join(lines)


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
) -> tuple[RunFigures, RunFigures | None, dict[str, float]]:
    """Both approaches on one set of sandboxes."""
    world = SandboxWorld(
        time_scale=time_scale, llm_error_rate=llm_error_rate, market_error_rate=market_error_rate
    ).start()
    try:
        await prepare(world, settings.database_url, settings, partners, skus)
        ours = await run_ours(world, settings, concurrency=concurrency, urgent=urgent)
        base = (
            await run_baseline(
                world, settings, workers=10, urgent=urgent, time_scale=time_scale, partners=baseline_partners
            )
            if baseline
            else None
        )
        if base is not None and baseline_partners and baseline_partners < partners:
            base.sample_factor = partners / baseline_partners
    finally:
        world.stop()
    bound = limit_bound(
        ours, partners=partners, skus=skus, rpm=world.llm_rpm, itpm=4_000_000, otpm=world.llm_otpm
    )
    return ours, base, bound
