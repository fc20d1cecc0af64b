"""The original design's approach, run for comparison: one LLM call per task for every capability,
ten workers on a priority queue, three attempts with backoff from 2 s, one marketplace call per SKU."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Any

from sqlalchemy import select

from aimanager.connectors.base import CardPush, PriceUpdate, StockUpdate
from aimanager.db.engine import make_engine
from aimanager.db.models import Listing, Partner, Product
from aimanager.domain.enums import Marketplace
from aimanager.jobs import Priority, SQLBackend
from aimanager.llm import CardRequest, NarrativeRequest
from aimanager.pipelines.capabilities.card_push import card_dimensions
from aimanager.pipelines.catalog.importer import product_facts
from aimanager.pipelines.services.runtime import Runtime
from aimanager.pipelines.services.wiring import build_runtime
from aimanager.settings import Settings
from aimanager_lab.bench.figures import RunFigures
from aimanager_lab.environment import SandboxWorld


async def run_baseline(
    world: SandboxWorld,
    settings: Settings,
    *,
    workers: int,
    urgent: int,
    time_scale: float,
) -> RunFigures:
    """The original design: one LLM call and one marketplace call per task, ten workers, 3 attempts,
    on the catalogue and accounts it is given (its own: a sample of the partners is extrapolated by
    the caller — its time grows linearly with the task count). Where its workers' time goes, LLM calls
    or marketplace calls, is measured (``phase_s``)."""
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
                    await _baseline_task(rt, task, fig.phase_s)
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


async def _baseline_task(rt: Runtime, task: tuple[Any, ...], spent: dict[str, float]) -> None:
    """One task; ``spent`` adds up the seconds its LLM and marketplace calls took ("llm", "marketplace")."""
    kind = task[0]
    clock = time.monotonic()

    def lap(what: str) -> None:
        nonlocal clock
        now = time.monotonic()
        spent[what] = spent.get(what, 0.0) + now - clock
        clock = now

    if kind == "analytics":
        await rt.gateway.write_narrative(NarrativeRequest(partner_id=task[1], facts={"task": "analytics"}))
        lap("llm")
        return
    listing, product = task[1], task[2]
    market = Marketplace(listing.marketplace)
    conn = await rt.connectors.get(listing.partner_id, market)
    facts = product_facts(product)
    if kind == "card":
        [res] = await rt.gateway.generate_cards(
            [CardRequest(f"{product.id}:{market.value}", listing.partner_id, facts)]
        )
        lap("llm")
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
        lap("marketplace")
    elif kind == "price":
        narrative = await rt.gateway.write_narrative(
            NarrativeRequest(
                partner_id=listing.partner_id, facts={"sku": product.sku, "price": str(listing.price)}
            )
        )
        _ = narrative
        lap("llm")
        report = await conn.update_prices([PriceUpdate(offer_id=product.sku, price=listing.price)])
        lap("marketplace")
    else:
        await rt.gateway.write_narrative(
            NarrativeRequest(
                partner_id=listing.partner_id, facts={"sku": product.sku, "stock": product.stock}
            )
        )
        lap("llm")
        report = await conn.update_stocks([StockUpdate(offer_id=product.sku, quantity=max(0, product.stock))])
        lap("marketplace")
    if report.failed:
        raise RuntimeError(f"{report.failed[0].code}: {report.failed[0].message}")
