"""API latency and throughput on the main list routes: p50/p99 per route, requests per second.

Fills a database (PostgreSQL for the published figures) with ``partners`` partners and ``tasks`` task
rows (bulk inserts, a few minutes for a million), starts one ``aimanager serve``-equivalent uvicorn
process on loopback, then drives the list routes with ``concurrency`` clients for ``seconds`` each::

    python -m aimanager_lab.bench.api --database-url postgresql+asyncpg://postgres@127.0.0.1/bench \\
        --partners 1000 --tasks 1000000 --seconds 20

It drives the product as an operator would (HTTP with an admin key, and one partner key); the numbers
go to BENCHMARKS.md by hand. Not run by the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
from sqlalchemy import insert, select

from aimanager.api.access import create_key
from aimanager.db.engine import make_engine, session_factory
from aimanager.db.models import AIUsageLog, Partner, TaskRecord
from aimanager.schema.migrate import upgrade

CHUNK = 5_000
ROUTES = [
    "/v1/partners?limit=50",
    "/v1/tasks?limit=50",
    "/v1/tasks?limit=50&status=failed",
    "/v1/tasks?limit=50&partner={slug}",
    "/v1/accounts?limit=50",
    "/v1/cards?limit=50",
    "/v1/spend?group=day",
    "/v1/jobs/stats",
]


async def fill(url: str, partners: int, tasks: int) -> tuple[str, str]:
    """Partners and tasks in bulk (skipped if the database already holds them); returns an admin key
    and the slug of a partner with tasks."""
    engine = make_engine(url)
    await upgrade(engine)
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    async with sessions() as s, s.begin():
        have = len((await s.execute(select(Partner.id).limit(partners))).all())
        if have < partners:
            await s.execute(insert(Partner), [{"slug": f"bench-{i}", "name": f"Bench {i}", "settings": {}}
                                              for i in range(have, partners)])  # fmt: skip
        ids = list((await s.execute(select(Partner.id).order_by(Partner.id))).scalars())
        have_tasks = len((await s.execute(select(TaskRecord.id).limit(tasks))).all())
    statuses = ("done", "done", "done", "failed", "needs_input")
    for start in range(have_tasks, tasks, CHUNK):
        rows = [
            {"partner_id": ids[i % len(ids)], "capability": ("cards", "pricing", "stock")[i % 3],
             "marketplace": ("uzum", "wildberries", "ozon", "yandex")[(i // 3) % 4], "sku": f"SKU-{i}",
             "status": statuses[i % 5], "reason": None if i % 5 < 3 else "bench reason",
             "updated_at": now - timedelta(seconds=i)}
            for i in range(start, min(tasks, start + CHUNK))
        ]  # fmt: skip
        async with sessions() as s, s.begin():
            await s.execute(insert(TaskRecord), rows)
    async with sessions() as s, s.begin():
        await s.execute(insert(AIUsageLog), [
            {"partner_id": ids[i % len(ids)], "task_kind": "cards", "provider": "offline", "model": "offline",
             "path": "realtime", "cost_usd": Decimal("0.001"), "created_at": now - timedelta(hours=i % 700)}
            for i in range(20_000)
        ])  # fmt: skip
        _, token = await create_key(s, "bench", "admin")
        slug = (await s.execute(select(Partner.slug).where(Partner.id == ids[0]))).scalar_one()
    await engine.dispose()
    return token, slug


def _serve(url: str, port: int) -> None:
    import os

    import uvicorn

    os.environ["AIMANAGER_DATABASE_URL"] = url
    from aimanager.api.app import create_app

    uvicorn.run(create_app(), host="127.0.0.1", port=port, log_level="warning")


async def drive(
    base: str, path: str, token: str, seconds: float, concurrency: int
) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as c:

        async def client() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                r = await c.get(path)
                latencies.append((time.perf_counter() - t0) * 1000)
                errors += r.status_code != 200

        await asyncio.gather(*(client() for _ in range(concurrency)))
    return latencies, errors


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--database-url", required=True)
    p.add_argument("--partners", type=int, default=1000)
    p.add_argument("--tasks", type=int, default=1_000_000)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--port", type=int, default=18080)
    args = p.parse_args()
    token, slug = asyncio.run(fill(args.database_url, args.partners, args.tasks))
    server = multiprocessing.Process(target=_serve, args=(args.database_url, args.port), daemon=True)
    server.start()
    base = f"http://127.0.0.1:{args.port}"
    for _ in range(200):
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            server.join(0.1)
    print(f"{'route':45} {'requests':>9} {'rps':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    try:
        for route in ROUTES:
            path = route.format(slug=slug)
            lat, errors = asyncio.run(drive(base, path, token, args.seconds, args.concurrency))
            q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [lat[0]] * 99
            print(
                f"{path:45} {len(lat):9d} {len(lat) / args.seconds:8.1f} {q[49]:8.1f} {q[98]:8.1f} {errors:7d}"
            )
    finally:
        server.terminate()
        server.join(10)


if __name__ == "__main__":
    main()
