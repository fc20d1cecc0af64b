"""The world of the pipeline chaos tests: a throwaway Redis, the sandboxes, a seeded multi-partner
catalog on a fresh PostgreSQL database, ``aimanager worker`` processes — and the checks every chaos run
ends with (``check_books``).

The Redis is our own ``redis-server`` on a free loopback port in a temporary directory, so stopping it
disturbs no other test; it comes back on the same port, as a restarted server does.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from aimanager.connectors.registry import parse_credentials
from aimanager.domain.enums import Marketplace
from aimanager_lab.environment import SandboxWorld, demo_credentials
from aimanager_lab.pipeline_run import CAPS
from aimanager_lab.pipeline_run import PipelineRun as LabPipelineRun
from aimanager_lab.servers import OwnRedis
from tests.servers import create_pg_database, drop_pg_database

__all__ = ["CAPS", "OwnRedis", "PipelineRun", "check_books", "own_redis"]


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    if shutil.which("redis-server") is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("redis-server is not installed (CI=true: a failure)")
        pytest.skip("!!! SKIPPED: redis-server is not installed !!!")
    tmp = Path(tempfile.mkdtemp(prefix="aim-chaos-redis-"))
    server = OwnRedis(tmp)
    server.start()
    try:
        yield server
    finally:
        server.kill()
        shutil.rmtree(tmp, ignore_errors=True)


class PipelineRun(LabPipelineRun):
    """The lab's pipeline run on a fresh database of the test server (a loud skip if it is down)."""

    @classmethod
    async def create(
        cls, world: SandboxWorld, redis_url: str, workdir: Path, *, partners: int, skus: int, workers: int = 3
    ) -> PipelineRun:
        url = await create_pg_database()
        opts = {"partners": partners, "skus": skus, "workers": workers}
        return await cls.start(world, redis_url, workdir, url, **opts, drop=drop_pg_database)


def llm_paid_answers(world: SandboxWorld) -> int:
    """Messages calls the LLM sandbox answered 200 (what a provider bills): every call on the route
    less the ones refused by its limits (429) or by an injected fault or outage."""
    stats = world.world.stats("llm")
    refused = int(sum(stats["throttled_by"].values())) + int(sum(stats["injected_faults"].values()))
    return int(stats["by_route"].get("messages", 0)) - refused


@dataclass
class Books:
    """What ``check_books`` found, for the test's own assertions and its printout."""

    tasks: Counter[str]
    jobs: Counter[str]
    failed_reasons: list[str]
    paid_calls: int
    sandbox_paid: int
    models: Counter[str]
    # Calls whose worker died before booking the answer: ``pending`` (or swept ``lost``) ledger rows at
    # their worst case, written before the request went out.
    unbooked_calls: int = 0


async def check_books(run: PipelineRun, *, partners: int, skus: int) -> Books:
    """The checks every chaos run ends with (the issue's list):

    - every task is there and ended done, or failed/needs-input/skipped with a reason;
    - no job is left queued or running, and every failed or dead job has its reason;
    - no price change or stock push is left planned or pushing;
    - each marketplace sandbox holds exactly the price, stock and card title the database says;
    - nothing was charged twice: no two ledger rows for the same provider request and partner, and no
      item answered well twice (its answer was cached the first time).
    The LLM sandbox's own count is returned next to the ledger's for the caller to compare (a worker
    killed while its call is in flight leaves that call's rows ``pending`` at its worst case: counted
    apart, as ``unbooked_calls``).
    """
    tasks = await run.rows("SELECT capability, marketplace, sku, status, reason FROM tasks")
    assert len(tasks) == partners * skus * len(Marketplace) * len(CAPS), Counter(t[0] for t in tasks)
    assert {t[3] for t in tasks} <= {"done", "failed", "needs_input", "skipped"}, Counter(t[3] for t in tasks)
    no_reason = [t for t in tasks if t[3] != "done" and not (t[4] or "").strip()]
    assert not no_reason, no_reason[:5]

    jobs = Counter(dict(await run.rows("SELECT status, count(*) FROM jobs GROUP BY status")))
    assert not jobs.get("queued") and not jobs.get("running"), jobs
    unexplained = await run.rows(
        "SELECT id, kind FROM jobs WHERE status IN ('failed', 'dead') AND coalesce(last_error, '') = ''"
    )
    assert not unexplained, unexplained

    for table in ("price_changes", "stock_pushes"):
        stuck = await run.rows(f"SELECT id, status FROM {table} WHERE status IN ('planned', 'pushing')")
        assert not stuck, (table, stuck[:10])

    await check_marketplaces(run)

    paid = await run.rows(
        "SELECT request_id, partner_id, model, outcome, detail FROM ai_usage_logs "
        "WHERE path <> 'cache' AND outcome NOT IN ('pending', 'lost')"
    )
    unbooked = await run.rows(
        "SELECT DISTINCT detail->>'call_id' FROM ai_usage_logs WHERE outcome IN ('pending', 'lost')"
    )
    assert all(r[0] for r in paid), "a paid ledger row without the provider's request id"
    twice = [k for k, n in Counter((r[0], r[1]) for r in paid).items() if n > 1]
    assert not twice, f"the same provider request booked twice: {twice[:5]}"
    answered = Counter(
        (r[4].get("prompt"), item) for r in paid if r[3] == "ok" for item in (r[4] or {}).get("items", [])
    )
    again = {k: n for k, n in answered.items() if n > 1}
    assert not again, f"items answered (and paid) well more than once: {again}"
    failed = [str(t[4]) for t in tasks if t[3] == "failed"]
    return Books(
        tasks=Counter(f"{t[0]}:{t[3]}" for t in tasks),
        jobs=jobs,
        failed_reasons=failed,
        paid_calls=len({r[0] for r in paid}),
        sandbox_paid=llm_paid_answers(run.world),
        models=Counter(r[2] for r in paid),
        unbooked_calls=len(unbooked),
    )


async def check_marketplaces(run: PipelineRun) -> None:
    """Each sandbox account holds the price, stock and card title the database says it holds."""
    listings = await run.rows(
        "SELECT l.partner_id, pa.slug, l.marketplace, p.sku, l.price, l.stock_pushed, cv.content "
        "FROM listings l JOIN products p ON p.id = l.product_id JOIN partners pa ON pa.id = l.partner_id "
        "LEFT JOIN card_versions cv ON cv.id = l.card_version_id"
    )
    held: dict[tuple[str, str], dict[str, Any]] = {}
    wrong = []
    for _, slug, market, sku, price, stock, content in listings:
        mp = Marketplace(market)
        if (slug, market) not in held:
            key = parse_credentials(mp, demo_credentials(mp, slug)).account_key()
            held[(slug, market)] = await asyncio.to_thread(run.world.snapshot, mp, key)
        offer = held[(slug, market)].get(sku)
        if offer is None:
            wrong.append((market, sku, "missing on the marketplace"))
            continue
        if price is not None and offer.price != Decimal(str(price)):
            wrong.append((market, sku, f"price db {price} marketplace {offer.price}"))
        if stock is not None and offer.stock != stock:
            wrong.append((market, sku, f"stock db {stock} marketplace {offer.stock}"))
        if content is not None and mp is not Marketplace.UZUM:  # Uzum's card is an exported file
            title = content["variant"]["title"]
            if offer.title != title:
                wrong.append((market, sku, f"title db {title!r} marketplace {offer.title!r}"))
    assert not wrong, f"{len(wrong)} listings differ from the marketplace: {wrong[:10]}"
