"""``aimanager bench day``: what a day of continuous operation costs, and how fast an order moves stock.

(a) **Steady-state cost of an unchanged catalog.** A sample of partners (all four marketplaces, their
catalog imported and connected as ``aimanager bench scenario`` does) gets its first day: one run of
every capability. Then one steady cycle of each scheduled work over the unchanged catalog — order
intake, stock, pricing, cards, analytics — each started as its schedule starts it and drained; the
sandboxes count the requests they receive (``/_sandbox/stats``) and the ledger (``ai_usage_logs``) the
LLM calls and dollars. Marketplace calls are per account, independent of the other partners, so a
cycle's calls scale linearly to ``--target-partners``; × the cycles a day at the default periods
(``DEFAULT_PERIODS_S``) gives the day.

(b) **Order → the other marketplaces' quantities dropping.** The sandboxes' buyers order on every
marketplace at ``--per-day`` orders per offer per marketplace day while a worker runs with order
intake scheduled every minute (``set_orders_schedule``) — the stock push is queued by the intake
itself. From each account's timeline: for every order, the first later moment each *other*
marketplace of the partner showed fewer units of that SKU than it did when the order came; wall
seconds = sandbox seconds × the time scale. Orders after which another marketplace already showed 0
have nothing to drop and are left out (counted).
"""

from __future__ import annotations

import asyncio
import bisect
import math
import re
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from aimanager.connectors.registry import parse_credentials
from aimanager.db.engine import make_engine
from aimanager.db.models import AIUsageLog, Partner
from aimanager.domain.enums import Capability, Marketplace
from aimanager.jobs import SQLBackend, Worker, WorkerConfig
from aimanager.pipelines.capabilities.orders import orders_spec
from aimanager.pipelines.registry import pipeline_registry
from aimanager.pipelines.services.runs import start_run
from aimanager.pipelines.services.runtime import Runtime
from aimanager.pipelines.services.schedules import set_orders_schedule
from aimanager.pipelines.services.wiring import build_runtime
from aimanager.settings import Settings
from aimanager_lab.bench.scenario import prepare
from aimanager_lab.environment import SandboxWorld, demo_credentials, run_until_drained

# The periods a day is counted at: the picture of what sellers already run (stock every 5 min
# like MoySklad's WB sync, repricing every 30 min, reports daily), order intake every minute, and a
# card refresh hourly (it finds the products whose catalog rows changed).
DEFAULT_PERIODS_S: dict[str, float] = {
    "orders": 60.0,
    "stock": 300.0,
    "pricing": 1800.0,
    "cards": 3600.0,
    "analytics": 86_400.0,
}
MARKETS = tuple(m.value for m in Marketplace)
SETTLE = 4  # most cycles of one work run to find its steady one


@dataclass
class Cycle:
    """One steady cycle of one scheduled work over the sample."""

    what: str
    requests: dict[str, int]  # marketplace → requests the sandbox received
    llm_calls: int
    llm_usd: Decimal
    wall_s: float
    paths: dict[str, int] = field(default_factory=dict)  # "marketplace path" → requests
    settling: list[int] = field(default_factory=list)  # calls of the cycles before it, oldest first


@dataclass
class DayFigures:
    partners: int
    skus: int
    target: int
    first_llm_calls: int = 0
    first_llm_usd: Decimal = Decimal(0)
    first_wall_s: float = 0.0
    cycles: list[Cycle] = field(default_factory=list)
    latencies_s: list[float] = field(default_factory=list)
    orders: int = 0
    nothing_to_drop: int = 0
    never_dropped: int = 0
    intake_s: float = 0.0


async def ledger(rt: Runtime) -> tuple[int, Decimal]:
    """LLM calls (cache hits are not calls) and dollars so far."""
    async with rt.sessions() as session:
        calls, usd = (
            await session.execute(
                select(func.count(), func.coalesce(func.sum(AIUsageLog.cost_usd), 0)).where(
                    AIUsageLog.path != "cache"
                )
            )
        ).one()
    return int(calls), Decimal(str(usd))


async def drain(rt: Runtime, concurrency: int) -> None:
    worker = Worker(rt.backend, pipeline_registry(rt), WorkerConfig(concurrency=concurrency))
    await run_until_drained(worker, rt.backend, [])


async def steady_cycle(world: SandboxWorld, rt: Runtime, what: str, concurrency: int) -> Cycle:
    """One firing's work of ``what`` (as its schedule starts it), drained; what it cost."""
    before = {m: world.world.stats(m) for m in MARKETS}
    calls0, usd0 = await ledger(rt)
    started = time.monotonic()
    if what == "orders":
        async with rt.sessions() as session:
            partners = (await session.execute(select(Partner.id))).scalars().all()
        await rt.backend.enqueue_many([orders_spec(p) for p in partners])
    else:
        await start_run(rt.sessions, rt.backend, [Capability(what)])
    await drain(rt, concurrency)
    wall = time.monotonic() - started
    calls1, usd1 = await ledger(rt)
    after = {m: world.world.stats(m) for m in MARKETS}
    requests = {m: int(after[m]["requests"]) - int(before[m]["requests"]) for m in MARKETS}
    paths: dict[str, int] = defaultdict(int)
    for m in MARKETS:
        for path, n in after[m]["by_path"].items():
            # Ids in paths (campaigns, products) folded: the kind of call is what counts.
            paths[f"{m} {re.sub(r'/[0-9]+(?=/|$)', '/{id}', path)}"] += n - int(
                before[m]["by_path"].get(path, 0)
            )
    paths = {k: v for k, v in paths.items() if v > 0}
    return Cycle(what, requests, calls1 - calls0, usd1 - usd0, wall, paths)


async def settled_cycle(world: SandboxWorld, rt: Runtime, what: str, concurrency: int) -> Cycle:
    """Cycles of ``what`` until one makes the same calls as the one before (at most ``SETTLE``): a
    repricing moves a price by steps over several cycles (the change budget), so the cycle right after
    the first day need not be the steady one. Returns the last, with the earlier counts in ``settling``."""
    cycles = [await steady_cycle(world, rt, what, concurrency)]
    while len(cycles) < SETTLE:
        cycles.append(await steady_cycle(world, rt, what, concurrency))
        if cycles[-1].requests == cycles[-2].requests:
            break
    last = cycles[-1]
    last.settling = [sum(c.requests.values()) for c in cycles[:-1]]
    return last


def drop_latencies(
    timelines: dict[tuple[str, str], list[list[Any]]], scale: float
) -> tuple[list[float], int, int, int]:
    """Per order, the wall seconds until each other marketplace of its partner showed fewer units of its
    SKU than when it was placed (see the module doc); returns (latencies, orders, nothing to drop, never
    dropped within the run)."""
    shown: dict[tuple[str, str, str], tuple[list[float], list[int]]] = {}
    orders: list[tuple[str, str, str, float]] = []
    for (partner, market), events in timelines.items():
        for t, offer, kind, qty in events:
            if kind == "shown":
                times, qtys = shown.setdefault((partner, market, offer), ([], []))
                times.append(t)
                qtys.append(qty)
            elif kind == "order":
                orders.append((partner, market, offer, t))
    latencies: list[float] = []
    nothing = never = 0
    for partner, market, offer, t in orders:
        for other in MARKETS:
            if other == market or (partner, other, offer) not in shown:
                continue
            times, qtys = shown[(partner, other, offer)]
            i = bisect.bisect_right(times, t) - 1
            if i < 0 or qtys[i] <= 0:
                nothing += 1
                continue
            later = next((times[j] for j in range(i + 1, len(times)) if qtys[j] < qtys[i]), None)
            if later is None:
                never += 1
            else:
                latencies.append((later - t) * scale)
    return latencies, len(orders), nothing, never


async def order_latency(
    world: SandboxWorld, rt: Runtime, keys: dict[tuple[str, str], str], *, seconds: float, per_day: float,
    concurrency: int,
) -> tuple[list[float], int, int, int]:  # fmt: skip
    """Buyers on every marketplace, intake every minute, a worker for ``seconds``; the drop latencies."""
    async with httpx.AsyncClient(timeout=30) as http:

        async def flow(per: float) -> None:
            for n, market in enumerate(MARKETS):
                body = {"per_day": per, "cancel_share": 0.1, "ship_after": 8 * 3600.0, "seed": 500 + n}
                (await http.post(f"{world.url(market)}/_sandbox/orders/flow", json=body)).raise_for_status()

        await set_orders_schedule(rt.backend, 60.0)
        worker = Worker(rt.backend, pipeline_registry(rt), WorkerConfig(concurrency=concurrency))
        task = asyncio.create_task(worker.run())
        await flow(per_day)
        await asyncio.sleep(seconds)
        await flow(0.0)
        worker.stop()
        await task
        timelines: dict[tuple[str, str], list[list[Any]]] = {}
        for (slug, market), key in keys.items():
            answer = await http.get(f"{world.url(market)}/_sandbox/orders", params={"token": key})
            answer.raise_for_status()
            timelines[(slug, market)] = answer.json()["timeline"]
    return drop_latencies(timelines, world.time_scale)


async def run_day_bench(
    *, partners: int, skus: int, target: int, time_scale: float, latency_s: float, per_day: float,
    concurrency: int, progress: Callable[[str], None] = print,
) -> DayFigures:  # fmt: skip
    """Both measurements on one sample (see the module doc)."""
    workdir = Path(tempfile.mkdtemp(prefix="aim-day-"))
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{workdir / 'day.db'}", secret_key_file=workdir / "key"
    )
    figs = DayFigures(partners, skus, target)
    world = SandboxWorld(time_scale=time_scale).start()
    try:
        progress(f"catalog: {partners} partners × {skus} SKUs × 4 marketplaces")
        await prepare(world, settings.database_url, settings, partners, skus)
        engine = make_engine(settings.database_url, pool_size=20)
        backend = SQLBackend(engine)
        await backend.setup()
        rt = await build_runtime(
            world.product_settings(settings), backend=backend, report_dir=workdir / "reports"
        )
        try:
            progress("first day: one run of every capability")
            started = time.monotonic()
            await start_run(rt.sessions, rt.backend, list(Capability), poll_s=0.5)
            await drain(rt, concurrency)
            figs.first_wall_s = time.monotonic() - started
            figs.first_llm_calls, figs.first_llm_usd = await ledger(rt)
            for what in DEFAULT_PERIODS_S:
                progress(f"steady cycle: {what}")
                figs.cycles.append(await settled_cycle(world, rt, what, concurrency))
            async with rt.sessions() as session:
                slugs = (await session.execute(select(Partner.slug))).scalars().all()
            keys = {
                (slug, m.value): parse_credentials(m, demo_credentials(m, slug)).account_key()
                for slug in slugs
                for m in Marketplace
            }
            progress(f"orders for {latency_s:.0f} s, intake every minute")
            lat, figs.orders, figs.nothing_to_drop, figs.never_dropped = await order_latency(
                world, rt, keys, seconds=latency_s, per_day=per_day, concurrency=concurrency
            )
            figs.latencies_s = lat
            figs.intake_s = latency_s
        finally:
            await rt.aclose()
            await backend.close()
            await engine.dispose()
    finally:
        world.stop()
    return figs


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def render(figs: DayFigures, *, command: str, machine: str, time_scale: float) -> str:
    k = figs.target / figs.partners
    lines = [
        f"## A day of continuous operation: {figs.target} partners × {figs.skus} SKUs × 4 marketplaces",
        "",
        f"`{command}` — {machine}. Shared 2-core machine (several other jobs were running): wall times",
        f"are indicative; the counts are not. Measured on {figs.partners} partners and scaled ×{k:g}",
        "(marketplace calls are per seller account, independent of the other partners); sandbox",
        f"time scale {time_scale:g}.",
        "",
        f"First day (one run of every capability over the sample): {figs.first_llm_calls} LLM calls, "
        f"${figs.first_llm_usd:.4f}, {figs.first_wall_s:.0f} s wall.",
        "",
        "### (a) Steady state: an unchanged catalog",
        "",
        "| work | every | cycles / day | WB | Ozon | Uzum | YM | calls / cycle | LLM calls / cycle "
        f"| LLM $ / cycle | calls / day ({figs.target} partners) | LLM $ / day |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    total_calls = 0.0
    total_usd = Decimal(0)
    card_usd = Decimal(0)
    for c in figs.cycles:
        period = DEFAULT_PERIODS_S[c.what]
        per_day = 86_400 / period
        calls = sum(c.requests.values()) * k
        day_calls = calls * per_day
        day_usd = c.llm_usd * Decimal(str(k)) * Decimal(str(per_day))
        total_calls += day_calls
        total_usd += day_usd
        if c.what == "cards":
            card_usd = day_usd
        every = f"{period / 60:g} min" if period < 86_400 else "1 day"
        r = c.requests
        lines.append(
            f"| {c.what} | {every} | {per_day:g} | {r['wildberries'] * k:,.0f} | {r['ozon'] * k:,.0f} | "
            f"{r['uzum'] * k:,.0f} | {r['yandex'] * k:,.0f} | {calls:,.0f} | {c.llm_calls * k:,.0f} | "
            f"{c.llm_usd * Decimal(str(k)):.4f} | {day_calls:,.0f} | {day_usd:.4f} |"
        )
    lines += [
        "",
        "Each work's cycles were run until one made the same calls as the one before (at most "
        f"{SETTLE}); the table is that last cycle. What its calls are, per partner (and the calls of "
        "the sample's cycles before it, when there were any):",
        "",
    ]
    for c in figs.cycles:
        each = ", ".join(
            f"{path} ×{n / figs.partners:g}" for path, n in sorted(c.paths.items(), key=lambda x: -x[1])
        )
        before = f" (before: {', '.join(f'{n:,}' for n in c.settling)} calls)" if c.settling else ""
        lines.append(f"- {c.what}: {each or 'no marketplace call'}{before}")
    lines += [
        "",
        f"A day: **{total_calls:,.0f} marketplace calls** ({total_calls / 86_400:.1f} a second on average "
        f"across {figs.target * 4} seller accounts), **LLM ${total_usd:.4f}** of which cards "
        f"**${card_usd:.4f}** (the analytics narrative is the only LLM work of an unchanged day).",
        "",
        "### (b) Order → the other marketplaces' quantities dropping",
        "",
    ]
    lat = figs.latencies_s
    if lat:
        lines.append(
            f"{figs.orders} orders in {figs.intake_s:.0f} s on the sample's {figs.partners * figs.skus * 4:,} "
            f"offers; order intake every 1 min, the stock push queued by the intake. Time from the order "
            f"to each other marketplace of the partner showing fewer units of that SKU: "
            f"**p50 {percentile(lat, 50):.1f} s, p99 {percentile(lat, 99):.1f} s**, max {max(lat):.1f} s "
            f"({len(lat)} drops; {figs.nothing_to_drop} where the other marketplace already showed 0; "
            f"{figs.never_dropped} not dropped before the run ended — the allocation left it within the "
            "pool, or the order came in the last minute)."
        )
    else:
        lines.append(f"No drop observed ({figs.orders} orders).")
    lines += [
        "",
        "The intake period sets the median: an order waits for the next minute's firing (30 s on "
        "average), then the intake and the push take the rest. The tail is orders whose units the "
        "other marketplace's share absorbed (its allocation did not change): they are counted to the "
        "next drop there, which a later order caused.",
    ]
    return "\n".join(lines)
