"""API latency and throughput on the main list routes: p50/p99 per route, requests per second.

Fills a database (PostgreSQL for the published figures) with ``partners`` partners and ``tasks`` task
rows (bulk inserts, a few minutes for a million), starts ``aimanager serve`` on loopback, then drives the list routes with ``concurrency`` clients for ``seconds`` each::

    aimanager bench api --database-url postgresql+asyncpg://postgres@127.0.0.1/aimanager_bench_api \\
        --partners 1000 --tasks 1000000 --seconds 20

It drives the product as an operator would: ``aimanager serve`` in its own process, HTTP with an admin
key. Not run by the test suite (its render has a test).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from aimanager.api.access import add_user, create_key
from aimanager.db.crypto import generate_key
from aimanager.db.engine import make_engine, session_factory
from aimanager.db.models import AIUsageLog, Partner, TaskRecord
from aimanager.schema.migrate import upgrade
from aimanager_lab.bench.api_fill import fill_postgres

CHUNK = 5_000
ROUTES = [
    "/v1/partners?limit=50",
    "/v1/tasks?limit=50",
    "/v1/tasks?limit=50&status=failed",
    "/v1/tasks?limit=50&partner={slug}",
    "/v1/tasks?limit=50&partner={slug}&status=failed",
    "/v1/partners/{slug}/tasks/counts",
    "/v1/accounts?limit=50",
    "/v1/cards?limit=50",
    "/v1/cards?limit=50&status=pending_approval",
    "/v1/review?limit=50",
    "/v1/spend?group=day",
    "/v1/spend?group=partner",
    "/v1/spend/budgets?limit=50",
    "/v1/alerts",
    "/v1/reports?limit=50",
    "/v1/jobs?limit=50",
    "/v1/jobs/stats",
]
# The console's pages, driven with a logged-in admin's session cookie.
CONSOLE = [
    "/console/",
    "/console/partners",
    "/console/partners/{slug}",
    "/console/review",
    "/console/spend",
    "/console/alerts",
    "/console/reports",
]


async def ensure_database(url: str) -> None:
    """Create a missing PostgreSQL database (the bench fills its own, never an operator's)."""
    if not url.startswith("postgresql"):
        return
    import asyncpg

    plain = url.replace("postgresql+asyncpg://", "postgresql://")
    base, name = plain.rsplit("/", 1)
    admin = await asyncpg.connect(base + "/postgres")
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def fill(url: str, partners: int, tasks: int, progress: Any = print) -> tuple[str, str, str]:
    """Fill the database (PostgreSQL: every table at full size, see ``api_fill``; SQLite: partners,
    tasks and a small ledger by multi-row inserts) unless it already holds the rows; returns an admin
    key, the slug of a partner with tasks, and a console password for the ``bench-admin`` login."""
    engine = make_engine(url)
    await upgrade(engine)
    if engine.dialect.name == "postgresql":
        await fill_postgres(engine, partners, tasks, progress)
    else:
        await _fill_small(engine, partners, tasks)
    sessions = session_factory(engine)
    password = secrets.token_urlsafe(12)
    async with sessions() as s, s.begin():
        _, token = await create_key(s, "bench", "admin")
        await add_user(s, "bench-admin", password, "admin")
        first = (await s.execute(select(Partner.slug).order_by(Partner.id).limit(1))).scalar_one()
    await engine.dispose()
    return token, first, password


async def _fill_small(engine: AsyncEngine, partners: int, tasks: int) -> None:
    """Multi-row inserts: for SQLite smoke runs (the published figures are PostgreSQL's)."""
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    async with sessions() as s, s.begin():
        have = len((await s.execute(select(Partner.id).limit(partners))).all())
        if have < partners:
            await s.execute(insert(Partner), [{"slug": f"bench-{i}", "name": f"Bench {i}", "settings": {}}
                                              for i in range(have, partners)])  # fmt: skip
        ids = list((await s.execute(select(Partner.id).order_by(Partner.id))).scalars())
        have_tasks = len((await s.execute(select(TaskRecord.id).limit(tasks))).all())
        have_usage = len((await s.execute(select(AIUsageLog.id).limit(20_000))).all())
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
    if have_usage < 20_000:
        async with sessions() as s, s.begin():
            await s.execute(insert(AIUsageLog), [
                {"partner_id": ids[i % len(ids)], "task_kind": "cards", "provider": "offline", "model": "offline",
                 "path": "realtime", "cost_usd": Decimal("0.001"), "created_at": now - timedelta(hours=i % 700)}
                for i in range(have_usage, 20_000)
            ])  # fmt: skip


async def drive(
    base: str, path: str, auth: dict[str, str], seconds: float, concurrency: int
) -> tuple[list[float], int]:
    """``auth``: the API key's header, or (console pages) the session cookie."""
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds
    headers = {"Authorization": auth["token"]} if "token" in auth else {}
    cookies = {k: v for k, v in auth.items() if k != "token"}
    async with httpx.AsyncClient(base_url=base, headers=headers, cookies=cookies, timeout=60) as c:

        async def client() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                try:
                    ok = (await c.get(path)).status_code == 200
                except httpx.HTTPError:  # a timeout is a figure (an error at its full wait), not a crash
                    ok = False
                latencies.append((time.perf_counter() - t0) * 1000)
                errors += not ok

        await asyncio.gather(*(client() for _ in range(concurrency)))
    return latencies, errors


@dataclass
class RouteFigures:
    path: str
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_api_bench(
    url: str, *, partners: int, tasks: int, seconds: float, concurrency: int, progress: Any = print
) -> list[RouteFigures]:
    """Fill the database, start ``aimanager serve`` (the command an operator runs) on a loopback port
    and drive each list route for ``seconds`` with ``concurrency`` clients."""
    progress(f"filling {partners:,} partners and {tasks:,} tasks (skipped where the database holds them)")
    token, slug, password = asyncio.run(fill(url, partners, tasks, progress))
    port = _free_port()
    env = {**os.environ, "AIMANAGER_DATABASE_URL": url}
    env.setdefault("AIMANAGER_SECRET_KEY", generate_key())
    server = subprocess.Popen(
        [sys.executable, "-m", "aimanager", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    out: list[RouteFigures] = []
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("aimanager serve did not answer /healthz within 120 s")
            time.sleep(0.1)
        login = httpx.post(
            base + "/console/login",
            data={"login": "bench-admin", "password": password},
            follow_redirects=False,
        )
        if login.status_code != 303:
            raise RuntimeError(f"console login answered {login.status_code}")
        key = {"token": f"Bearer {token}"}
        for route, auth in [(r, key) for r in ROUTES] + [(r, dict(login.cookies)) for r in CONSOLE]:
            path = route.format(slug=slug)
            progress(f"{path}: {seconds:g} s at {concurrency} clients")
            # One untimed request first: one-off work (the spend rollup of days not yet summed, after
            # a fresh fill) is not what a route costs in steady state.
            httpx.get(base + path, headers={"Authorization": auth["token"]} if "token" in auth else {},
                      cookies={k: v for k, v in auth.items() if k != "token"}, timeout=600)  # fmt: skip
            lat, errors = asyncio.run(drive(base, path, auth, seconds, concurrency))
            q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [lat[0]] * 99
            out.append(RouteFigures(path, len(lat), len(lat) / seconds, q[49], q[98], errors))
    finally:
        server.terminate()
        server.wait(10)
    return out


def render_api(
    figs: list[RouteFigures], *, partners: int, tasks: int, dialect: str, command: str, machine: str
) -> str:
    """Markdown for BENCHMARKS.md."""
    lines = [
        "## API: list routes and console pages under load",
        "",
        f"Command: `{command}` — {machine}.",
        "",
        f"{partners:,} partners and {tasks:,} task rows in {dialect}"
        + (
            " (and the other tables at the same scale: `aimanager_lab/bench/api_fill.py`)"
            if dialect == "PostgreSQL"
            else ""
        )
        + "; one `aimanager serve` process on loopback, an admin key (console pages: an admin's session),",
        "each route driven in turn by concurrent clients.",
        "",
        "| route | requests | requests/s | p50 (ms) | p99 (ms) | errors |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| `{f.path}` | {f.requests:,} | {f.rps:,.0f} | {f.p50_ms:.1f} | {f.p99_ms:.1f} | {f.errors} |"
        for f in figs
    ]
    return "\n".join(lines)
