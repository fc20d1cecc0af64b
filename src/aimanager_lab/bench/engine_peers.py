"""``aimanager bench engine-peers``: how the engine scales with worker processes, next to its peers.

All on the local PostgreSQL, no-op jobs, measured in one run so the figures share the machine's state:

* this engine with 1, 2 and 4 ``aimanager worker`` processes (real subprocesses, the command a user
  runs); throughput is counted inside the database — jobs ÷ (last finish − first start) — so process
  start-up, which has nothing to do with the queue, is left out;
* pgqueuer (the best-measured Python library on PostgreSQL), one process, when it is installed
  (``uv sync --extra bench``); the row says so when it is not;
* a bare ``FOR UPDATE SKIP LOCKED`` claim loop, one process: the ceiling any engine with leases,
  fencing, fairness and keyed batches pays its features out of.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import text

from aimanager.db.crypto import generate_key
from aimanager.jobs import JobSpec, SQLBackend

PEER_DB = "aimanager_bench_peer"


@dataclass
class PeerFigures:
    jobs: int
    ours_per_s: dict[int, float] = field(default_factory=dict)  # worker processes → jobs/s
    pgqueuer_per_s: float | None = None
    bare_per_s: float = 0.0
    notes: list[str] = field(default_factory=list)


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _fresh_db(admin_url: str, name: str) -> str:
    import asyncpg

    base = _plain(admin_url).rsplit("/", 1)[0]
    admin = await asyncpg.connect(base + "/postgres")
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    return f"{base}/{name}"


async def ours(backend: SQLBackend, url: str, n: int, processes: int, concurrency: int) -> float:
    """Jobs/s of ``processes`` worker subprocesses draining ``n`` no-op jobs, counted in the database."""
    from aimanager_lab.bench.engine import clear

    await clear(backend)
    # One job an hour ahead keeps every process up (``--until-idle``) until all of them claim; the work is
    # queued then, so the first process to start does not drain it while the others still import.
    sentinel = (await backend.enqueue_many([JobSpec("noop", delay=3600)])).ids[0]
    env = {**os.environ, "AIMANAGER_DATABASE_URL": url, "AIMANAGER_SECRET_KEY": generate_key()}
    env.pop("AIMANAGER_LOG_LEVEL", None)
    command = [sys.executable, "-m", "aimanager", "worker", "--until-idle", "--kinds", "noop"]
    command += ["--concurrency", str(concurrency)]
    ports = [_free_port() for _ in range(processes)]
    procs = [
        subprocess.Popen(
            [*command, "--metrics-port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    deadline = time.monotonic() + 180
    async with httpx.AsyncClient(timeout=2.0) as client:
        for port in ports:
            while not await _healthy(client, port):
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    for proc in procs:
                        proc.kill()
                    raise RuntimeError("the worker processes did not answer /healthz within 180 s")
                await asyncio.sleep(0.1)
    # The whole backlog in one transaction: the workers see it at once, as pgqueuer's is queued before
    # its clock starts. (Enqueued in parts, the first part's drain ran beside the next part's insert,
    # and both were counted against the engine.)
    await backend.enqueue_many([JobSpec("noop", partner_id=i % 100) for i in range(n)])
    async with backend.engine.begin() as conn:
        await conn.execute(text("DELETE FROM jobs WHERE id = :id"), {"id": sentinel})
    for proc in procs:
        await asyncio.to_thread(proc.wait)
    async with backend.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT count(*), min(started_at), max(finished_at) FROM jobs WHERE status = 'succeeded'"
                )
            )
        ).one()
    done, first, last = int(row[0]), float(row[1] or 0), float(row[2] or 0)
    if done != n:
        raise RuntimeError(f"{processes} worker process(es) finished {done} of {n} jobs")
    return n / max(last - first, 1e-9)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _healthy(client: httpx.AsyncClient, port: int) -> bool:
    """The worker's own readiness answer (``--metrics-port``): it has set up and is claiming."""
    try:
        return (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
    except httpx.HTTPError:
        return False


async def pgqueuer_peer(admin_url: str, n: int, batch: int) -> float | None:
    """Jobs/s of pgqueuer's QueueManager draining ``n`` no-op jobs in one process, or None if absent."""
    try:
        from pgqueuer import QueueManager
        from pgqueuer.db import AsyncpgDriver
        from pgqueuer.queries import Queries
        from pgqueuer.types import QueueExecutionMode
    except ImportError:
        return None
    import asyncpg

    dsn = await _fresh_db(admin_url, PEER_DB)
    conn = await asyncpg.connect(dsn)
    try:
        driver = AsyncpgDriver(conn)
        queries = Queries(driver)
        await queries.install()
        for start in range(0, n, 10_000):
            size = min(10_000, n - start)
            await queries.enqueue(["noop"] * size, [None] * size, [0] * size)
        qm = QueueManager(queries)
        finished = 0

        async def noop(job: Any) -> None:
            nonlocal finished
            finished += 1

        qm.entrypoint("noop")(noop)

        t0 = time.perf_counter()
        await qm.run(batch_size=batch, mode=QueueExecutionMode.drain)
        elapsed = time.perf_counter() - t0
    finally:
        await conn.close()
    if finished != n:
        raise RuntimeError(f"pgqueuer finished {finished} of {n} jobs")
    return n / elapsed


async def bare_loop(admin_url: str, n: int, batch: int) -> float:
    """Jobs/s of the simplest correct claim loop: claim a batch with SKIP LOCKED, mark it done."""
    import asyncpg

    dsn = await _fresh_db(admin_url, PEER_DB)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "CREATE TABLE q (id bigserial PRIMARY KEY, status text NOT NULL DEFAULT 'queued', payload text)"
        )
        await conn.execute("CREATE INDEX q_queued ON q (id) WHERE status = 'queued'")
        await conn.execute("INSERT INTO q (payload) SELECT '{}' FROM generate_series(1, $1)", n)
        await conn.execute("VACUUM ANALYZE q")
        claim = await conn.prepare(
            "UPDATE q SET status = 'running' WHERE id IN (SELECT id FROM q WHERE status = 'queued' "
            "ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING id"
        )
        done = await conn.prepare("UPDATE q SET status = 'done' WHERE id = ANY($1::bigint[])")
        t0 = time.perf_counter()
        handled = 0
        while True:
            ids = [r[0] for r in await claim.fetch(batch)]
            if not ids:
                break
            handled += len(ids)
            await done.fetch(ids)
        elapsed = time.perf_counter() - t0
    finally:
        await conn.close()
    if handled != n:
        raise RuntimeError(f"the bare loop handled {handled} of {n} jobs")
    return n / elapsed


async def run_peer_bench(
    pg_url: str, *, jobs: int = 20_000, processes: tuple[int, ...] = (1, 2, 4), progress: Any = print
) -> PeerFigures:
    import tempfile
    from pathlib import Path

    from aimanager_lab.bench.engine import fresh_backend

    fig = PeerFigures(jobs)
    with tempfile.TemporaryDirectory() as tmp:
        backend, url = await fresh_backend("postgresql", pg_url, Path(tmp))
        try:
            for count in processes:
                progress(f"this engine, {count} worker process(es), {jobs:,} no-op jobs")
                fig.ours_per_s[count] = await ours(backend, url, jobs, count, concurrency=100)
        finally:
            await backend.close()
    progress("pgqueuer, one process")
    fig.pgqueuer_per_s = await pgqueuer_peer(pg_url, jobs, batch=100)
    if fig.pgqueuer_per_s is None:
        fig.notes.append("pgqueuer is not installed here (`uv sync --extra bench` installs it).")
    progress("bare SKIP LOCKED loop, one process")
    fig.bare_per_s = await bare_loop(pg_url, jobs, batch=100)
    return fig


def render_peers(fig: PeerFigures, command: str, machine: str) -> str:
    """Markdown for BENCHMARKS.md."""
    one = fig.ours_per_s.get(1, 0.0)
    lines = [
        "## Job engine: worker processes and peers (PostgreSQL)",
        "",
        f"Command: `{command}` — {machine}.",
        "",
        f"{fig.jobs:,} no-op jobs per case on the local PostgreSQL; one run, so every row shares the machine's state.",
        "",
        "| case | jobs/s | vs one process of this engine |",
        "|---|---|---|",
    ]
    for count, rate in sorted(fig.ours_per_s.items()):
        lines.append(
            f"| this engine, {count} `aimanager worker` process(es) | {rate:,.0f} | {rate / one:.2f}× |"
        )
    if fig.pgqueuer_per_s is not None:
        lines.append(
            f"| pgqueuer, one process | {fig.pgqueuer_per_s:,.0f} | {fig.pgqueuer_per_s / one:.2f}× |"
        )
    lines.append(
        f"| bare `SKIP LOCKED` loop, one process | {fig.bare_per_s:,.0f} | {fig.bare_per_s / one:.2f}× |"
    )
    lines += [
        "",
        "This engine's rows are counted inside the database (jobs ÷ last finish − first start), so the",
        "processes' start-up is left out; each claim still carries leases, fencing tokens, per-partner",
        "fairness and keyed batches, which the bare loop does not.",
        *fig.notes,
    ]
    return "\n".join(lines)
