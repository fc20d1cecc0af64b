"""``aimanager bench engine``: the job engine's throughput, latency and recovery on each dialect.

Every figure is measured against a real database on this machine (a SQLite file, or the local
PostgreSQL server on 127.0.0.1); the worker runs in this process, except for the SIGKILL case,
which kills a real ``aimanager worker`` subprocess.
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text

from aimanager.db.crypto import generate_key
from aimanager.db.engine import make_engine
from aimanager.jobs import (
    Job,
    JobSpec,
    JobStatus,
    Priority,
    Registry,
    SQLBackend,
    Worker,
    WorkerConfig,
    builtin_registry,
)
from aimanager.schema.migrate import upgrade


@dataclass
class EngineFigures:
    dialect: str
    enqueue_per_s: float = 0.0
    noop_per_s: float = 0.0
    sleep_per_s: float = 0.0
    urgent_p50_ms: float = 0.0
    urgent_p99_ms: float = 0.0
    urgent_max_ms: float = 0.0
    recovery_s: float = 0.0
    notes: list[str] = field(default_factory=list)


async def fresh_backend(dialect: str, pg_admin_url: str, workdir: Path) -> tuple[SQLBackend, str]:
    """A migrated, empty database of ``dialect``; returns the backend and its URL."""
    if dialect == "sqlite":
        path = workdir / "bench.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite+aiosqlite:///{path}"
    else:
        import asyncpg

        base = pg_admin_url.replace("postgresql+asyncpg://", "postgresql://")
        admin = await asyncpg.connect(base.rsplit("/", 1)[0] + "/postgres")
        try:
            await admin.execute("DROP DATABASE IF EXISTS aimanager_bench WITH (FORCE)")
            await admin.execute("CREATE DATABASE aimanager_bench")
        finally:
            await admin.close()
        url = base.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + "/aimanager_bench"
    engine = make_engine(url, pool_size=20)
    await upgrade(engine)
    backend = SQLBackend(engine, owns_engine=True)
    await backend.setup()
    return backend, url


async def clear(backend: SQLBackend) -> None:
    """Empty the queue between cases. On PostgreSQL, then ``VACUUM ANALYZE`` as autovacuum keeps a
    busy queue table: without it each case would drain through the previous case's dead index
    entries and plan with statistics of an empty table."""
    async with backend.engine.begin() as conn:
        await conn.execute(text("DELETE FROM jobs"))
        await conn.execute(text("DELETE FROM job_keys"))
    if backend.dialect == "postgresql":
        async with backend.engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await auto.execute(text("VACUUM ANALYZE jobs, job_keys"))


async def bench_enqueue(backend: SQLBackend, n: int) -> float:
    specs = [JobSpec("noop", partner_id=i % 100, priority=Priority.LOW) for i in range(n)]
    t0 = time.perf_counter()
    for i in range(0, n, 10_000):
        await backend.enqueue_many(specs[i : i + 10_000])
    return n / (time.perf_counter() - t0)


async def bench_drain(
    backend: SQLBackend, kind: str, n: int, concurrency: int, payload: dict[str, Any]
) -> float:
    await clear(backend)
    await backend.enqueue_many([JobSpec(kind, payload, partner_id=i % 100) for i in range(n)])
    worker = Worker(
        backend, builtin_registry(), WorkerConfig(concurrency=concurrency, claim_batch=concurrency)
    )
    t0 = time.perf_counter()
    m = await worker.run(until_idle=True)
    elapsed = time.perf_counter() - t0
    assert m.succeeded == n, f"{m.succeeded} of {n} succeeded"
    return n / elapsed


async def bench_urgent(backend: SQLBackend, backlog: int, urgent: int, concurrency: int) -> list[float]:
    """Urgent start latency while a worker drains a low-priority backlog."""
    await clear(backend)
    for i in range(0, backlog, 10_000):
        await backend.enqueue_many(
            [
                JobSpec("noop", partner_id=j % 100, priority=Priority.LOW)
                for j in range(i, min(backlog, i + 10_000))
            ]
        )
    reg = builtin_registry()
    waits: list[float] = []
    done = asyncio.Event()

    async def urgent_job(job: Job) -> None:
        waits.append((time.time() - job.enqueued_at) * 1000.0)
        if len(waits) >= urgent:
            done.set()

    reg.register("urgent", urgent_job)
    worker = Worker(backend, reg, WorkerConfig(concurrency=concurrency, claim_batch=concurrency))
    task = asyncio.create_task(worker.run())
    await asyncio.sleep(0.5)  # the backlog is being drained
    for i in range(urgent):
        await backend.enqueue_many([JobSpec("urgent", partner_id=1000 + i, priority=Priority.URGENT)])
        await asyncio.sleep(0.01)
    await asyncio.wait_for(done.wait(), 60)
    worker.stop()
    await task
    return waits


async def bench_recovery(backend: SQLBackend, url: str) -> float:
    """Seconds from SIGKILL of a worker holding jobs to the first re-run of one of them."""
    await clear(backend)
    ids = (await backend.enqueue_many([JobSpec("sleep", {"ms": 120_000}) for _ in range(5)])).ids
    env = {**os.environ, "AIMANAGER_DATABASE_URL": url, "AIMANAGER_LOG_LEVEL": "WARNING"}
    # A worker on a shared database (PostgreSQL) refuses to start without the key; no-op jobs read no secret.
    env.setdefault("AIMANAGER_SECRET_KEY", generate_key())
    proc = subprocess.Popen(
        [sys.executable, "-m", "aimanager", "worker", "--concurrency", "5"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            jobs = [await backend.get(i) for i in ids]
            if all(j is not None and j.status is JobStatus.RUNNING for j in jobs):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # let a heartbeat or two renew the leases
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    killed_at = time.time()
    rerun_at: list[float] = []
    done = asyncio.Event()

    async def rerun(job: Job) -> None:
        rerun_at.append(time.time())
        done.set()

    reg = Registry()
    reg.register("sleep", rerun)
    worker = Worker(backend, reg, WorkerConfig(concurrency=5))
    task = asyncio.create_task(worker.run())
    await asyncio.wait_for(done.wait(), 60)
    worker.stop()
    await task
    return min(rerun_at) - killed_at


async def run_engine_bench(
    dialects: list[str], pg_url: str, *, scale: float = 1.0, progress: Any = print
) -> list[EngineFigures]:
    """Run every engine benchmark on each dialect."""
    out: list[EngineFigures] = []
    with tempfile.TemporaryDirectory() as tmp:
        for dialect in dialects:
            fig = EngineFigures(dialect)
            backend, url = await fresh_backend(dialect, pg_url, Path(tmp))
            try:
                progress(f"[{dialect}] bulk enqueue")
                fig.enqueue_per_s = await bench_enqueue(backend, int(100_000 * scale))
                progress(f"[{dialect}] no-op jobs at concurrency 100")
                fig.noop_per_s = await bench_drain(backend, "noop", int(50_000 * scale), 100, {})
                progress(f"[{dialect}] 50 ms jobs at concurrency 200")
                fig.sleep_per_s = await bench_drain(backend, "sleep", int(20_000 * scale), 200, {"ms": 50})
                progress(f"[{dialect}] urgent latency behind a 100,000-job backlog")
                waits = await bench_urgent(backend, int(100_000 * scale), 200, 100)
                waits.sort()
                fig.urgent_p50_ms = statistics.median(waits)
                fig.urgent_p99_ms = waits[max(0, int(len(waits) * 0.99) - 1)]
                fig.urgent_max_ms = waits[-1]
                progress(f"[{dialect}] SIGKILL recovery")
                fig.recovery_s = await bench_recovery(backend, url)
            finally:
                await backend.close()
            out.append(fig)
    return out


def render(figs: list[EngineFigures], command: str, machine: str) -> str:
    """Markdown for BENCHMARKS.md."""
    rows: list[tuple[str, Callable[[EngineFigures], str], str]] = [
        ("bulk enqueue (jobs/s)", lambda f: f"{f.enqueue_per_s:,.0f}", "—"),
        ("no-op jobs/s, one worker process, concurrency 100", lambda f: f"{f.noop_per_s:,.0f}", "≥ 10,000"),
        (
            "50 ms jobs at concurrency 200 (% of ideal 4,000/s)",
            lambda f: f"{f.sleep_per_s:,.0f}/s = {100 * f.sleep_per_s / 4000:.0f} %",
            "≥ 90 %",
        ),
        (
            "urgent start latency p50 / p99 behind 100,000 low jobs (ms)",
            lambda f: f"{f.urgent_p50_ms:.1f} / {f.urgent_p99_ms:.1f} (max {f.urgent_max_ms:.1f})",
            "p99 ≤ 50",
        ),
        ("SIGKILL → first re-run (s), lease 10 s", lambda f: f"{f.recovery_s:.1f}", "≤ 15"),
    ]
    head = "| measure | " + " | ".join(f.dialect for f in figs) + " | target |"
    sep = "|---" * (len(figs) + 2) + "|"
    lines = [
        "## Job engine",
        "",
        f"Command: `{command}` — {machine}.",
        "",
        head,
        sep,
    ]
    for label, fmt, target in rows:
        lines.append(f"| {label} | " + " | ".join(fmt(f) for f in figs) + f" | {target} |")
    lines += [
        "",
        "The worker runs in the benchmark's process (one asyncio process); urgent jobs are enqueued every",
        "10 ms while the worker drains the backlog, and their latency is enqueue → handler start. The",
        "SIGKILL case kills a real `aimanager worker` subprocess holding 5 jobs and times the first re-run",
        "by a fresh worker. Each case starts from an empty queue (on PostgreSQL vacuumed and analysed,",
        "as autovacuum keeps a busy queue table).",
    ]
    return "\n".join(lines)
