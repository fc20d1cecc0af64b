"""CLI: database setup, the worker, and job administration (``aimanager init|worker|jobs …``)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import inspect

from aimanager.cli.app import app, jobs_app, priority_name, process_count
from aimanager.db.engine import check_connection, describe_url, make_engine
from aimanager.errors import StoreError
from aimanager.jobs import JobSpec, JobStatus, Priority, SQLBackend, Worker, WorkerConfig, parse_payload
from aimanager.jobs.backends.sql.health import WORKER_SESSION_SETTINGS
from aimanager.logs import configure
from aimanager.settings import get_settings

if TYPE_CHECKING:
    from aimanager.ops.autoscale import ScalePolicy

T = TypeVar("T")
console = Console()


def run(fn: Callable[[], Awaitable[T]]) -> T:
    """Run an async CLI body."""
    return asyncio.run(fn())  # type: ignore[arg-type]


async def open_backend(*, worker: bool = False) -> SQLBackend:
    """The configured database as a job backend, checked: reachable and initialised.

    ``worker``: a worker's connections, with the statement and idle-in-transaction timeouts that keep
    one stuck transaction from holding back vacuum on the queue tables (PostgreSQL)."""
    settings = get_settings()
    extra = WORKER_SESSION_SETTINGS if worker else None
    backend = SQLBackend(make_engine(settings.database_url, session_settings=extra), owns_engine=True)
    try:
        await check_connection(backend.engine)
        async with backend.engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
    except BaseException:
        await backend.engine.dispose()
        raise
    if "jobs" not in tables:
        await backend.engine.dispose()
        where = describe_url(settings.database_url)
        raise StoreError(f"database {where} is not initialised; run `aimanager init` first")
    return backend


@app.command()
def init() -> None:
    """Create the database, or upgrade it to the newest schema."""
    from aimanager.cli.keys_cmd import require_secret_key

    require_secret_key()  # a shared database: every host needs the one given key (none is made)
    # Alembic takes a quarter of a second to import; only this command needs it.
    from aimanager.schema.migrate import upgrade

    async def body() -> None:
        settings = get_settings()
        engine = make_engine(settings.database_url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()
        console.print(f"database ready: {describe_url(settings.database_url)}")

    run(body)


@app.command()
def worker(
    concurrency: int = typer.Option(10, "--concurrency", "-c", min=1, help="Jobs in flight at once."),
    kinds: str | None = typer.Option(None, help="Comma-separated job kinds to run (default: all)."),
    lease: float | None = typer.Option(
        None, help="Lease seconds; a dead worker's jobs rerun after this (default: AIMANAGER_LEASE_SECONDS)."
    ),
    until_idle: bool = typer.Option(False, help="Exit when no queued or running job is left."),
    dry_run: bool = typer.Option(False, help="Decide and record everything; push nothing, write no files."),
    processes: str = typer.Option(
        "1",
        "--processes",
        "-p",
        callback=process_count,
        help="Worker processes (a number, or 'auto' to follow the measured load between --min and "
        "--max); more than one runs a supervisor that restarts them.",
    ),
    min_processes: int = typer.Option(1, "--min", min=1, help="With --processes auto: fewest processes."),
    max_processes: int = typer.Option(8, "--max", min=1, help="With --processes auto: most processes."),
    scale_every: float = typer.Option(5.0, "--scale-every", min=0.1, hidden=True),
    scale_down_after: float = typer.Option(60.0, "--scale-down-after", min=0.0, hidden=True),
    metrics_port: int | None = typer.Option(
        None, "--metrics-port", min=0, max=65535, help="Serve /healthz and /metrics on this port."
    ),
) -> None:
    """Run jobs until SIGTERM/SIGINT (graceful: finish or release what is running)."""
    from aimanager.cli.keys_cmd import require_secret_key

    require_secret_key()  # a shared database: every host needs the one given key (none is made)
    settings = get_settings()
    configure(settings.log_level, settings.log_json)
    scaling = _scaling_policy(processes, min_processes, max_processes, concurrency)
    count = scaling.min_workers if scaling is not None else int(processes)
    if scaling is not None or count > 1:
        child = [sys.executable, "-m", "aimanager", "worker", "--concurrency", str(concurrency)]
        child += ["--kinds", kinds] if kinds else []
        child += ["--lease", str(lease)] if lease is not None else []
        child += ["--until-idle"] if until_idle else []
        child += ["--dry-run"] if dry_run else []
        auto = None if scaling is None else (scaling, scale_every, scale_down_after)
        run(lambda: _supervise(child, count, metrics_port, restart_clean_exits=not until_idle, auto=auto))
        return
    from aimanager.ops import Exporter
    from aimanager.ops.endpoints import report_loop, serve_worker
    from aimanager.ops.supervisor import STATE_DIR_ENV
    from aimanager.pipelines.registry import pipeline_registry
    from aimanager.pipelines.services.wiring import build_runtime

    kind_list = [k.strip() for k in kinds.split(",") if k.strip()] if kinds else None

    async def body() -> None:
        backend = await open_backend(worker=True)
        helpers: list[asyncio.Task[None]] = []
        server: asyncio.Server | None = None
        try:
            rt = await build_runtime(settings, backend=backend, dry_run=dry_run)
            registry = pipeline_registry(rt)
            lease_s = lease if lease is not None else settings.lease_seconds
            config = WorkerConfig(
                concurrency=concurrency,
                kinds=kind_list,
                lease_s=lease_s,
                retention_s=settings.job_retention_days * 86400.0,
            )
            w = Worker(backend, registry, config)
            if metrics_port is not None or os.environ.get(STATE_DIR_ENV):
                exporter = Exporter()
                stats = rt.gateway.stats
                helpers.append(asyncio.create_task(report_loop(w, exporter, stats)))
                if metrics_port is not None:
                    from aimanager.ops.autoscale import ScalePolicy
                    from aimanager.ops.scaling import LoadSampler

                    sampler = LoadSampler(backend.engine, _slas())
                    policy = ScalePolicy(min_processes, max_processes, concurrency)
                    server = await serve_worker(
                        "0.0.0.0", metrics_port, w, backend.engine, exporter, stats, (sampler, policy)
                    )
            m = await w.run(until_idle=until_idle, install_signals=True)
            console.print(
                f"worker {w.worker_id}: {m.succeeded} succeeded, {m.retried} retried, "
                f"{m.failed} failed, {m.dead} dead"
            )
        finally:
            for task in helpers:
                task.cancel()
            if server is not None:
                server.close()
            await backend.close()

    run(body)


def _slas() -> dict[int, float]:
    return {int(p): p.start_sla_seconds for p in Priority}


def _scaling_policy(processes: str, low: int, high: int, concurrency: int) -> ScalePolicy | None:
    """None for a fixed count; the autoscaler's policy for ``auto``; a usage error otherwise."""
    from aimanager.ops.autoscale import ScalePolicy

    if processes.strip().lower() == "auto":
        if high < low:
            raise typer.BadParameter(f"--max ({high}) is below --min ({low})", param_hint="--max")
        return ScalePolicy(min_workers=low, max_workers=high, concurrency=concurrency)
    if not processes.strip().isdigit() or int(processes) < 1:
        raise typer.BadParameter(
            f"expected a positive number or 'auto', got {processes!r}", param_hint="--processes"
        )
    return None


async def _supervise(
    child: list[str],
    processes: int,
    metrics_port: int | None,
    *,
    restart_clean_exits: bool,
    auto: tuple[ScalePolicy, float, float] | None = None,
) -> None:
    from prometheus_client import CollectorRegistry

    from aimanager.ops import Supervisor
    from aimanager.ops.endpoints import serve_supervisor
    from aimanager.ops.metrics import DesiredWorkers
    from aimanager.ops.scaling import LoadSampler, autoscale_loop

    state_dir = Path(tempfile.mkdtemp(prefix="aimanager-supervisor-"))
    supervisor = Supervisor(child, processes, state_dir, restart_clean_exits=restart_clean_exits)
    server: asyncio.Server | None = None
    scaler: asyncio.Task[None] | None = None
    engine = make_engine(get_settings().database_url, pool_size=2)
    own = CollectorRegistry()
    try:
        if auto is not None:
            policy, every_s, down_after_s = auto
            scaler = asyncio.create_task(
                autoscale_loop(
                    LoadSampler(engine, _slas()),
                    policy,
                    lambda: supervisor.processes,
                    supervisor.scale_to,
                    DesiredWorkers(own).publish,
                    every_s=every_s,
                    down_after_s=down_after_s,
                )
            )
        if metrics_port is not None:
            server = await serve_supervisor("0.0.0.0", metrics_port, supervisor, engine, own)
        await supervisor.run()
    finally:
        if scaler is not None:
            scaler.cancel()
            await asyncio.gather(scaler, return_exceptions=True)
        if server is not None:
            server.close()
        await engine.dispose()
        shutil.rmtree(state_dir, ignore_errors=True)
    console.print(f"supervisor: {processes} worker processes, {supervisor.restarts} restarts")


@jobs_app.command("enqueue")
def jobs_enqueue(
    kind: str,
    payload: str = typer.Option("{}", help="JSON object."),
    partner: int | None = typer.Option(None, help="Partner id."),
    priority: str = typer.Option("medium", help="urgent, high, medium or low.", callback=priority_name),
    batch_key: str | None = typer.Option(None),
    unique_key: str | None = typer.Option(None),
    count: int = typer.Option(1, min=1, max=1_000_000, help="Enqueue this many copies."),
) -> None:
    """Queue jobs of a known kind."""
    from aimanager.pipelines.registry import known_kinds

    if kind not in known_kinds():
        from aimanager.jobs import UnknownJobKind

        raise UnknownJobKind(f"unknown job kind {kind!r}; known kinds: {', '.join(known_kinds())}")
    data = parse_payload(payload)
    try:
        prio = Priority.parse(priority)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None

    async def body() -> None:
        backend = await open_backend()
        try:
            specs = [
                JobSpec(
                    kind=kind,
                    payload=data,
                    partner_id=partner,
                    priority=prio,
                    batch_key=batch_key,
                    unique_key=unique_key if count == 1 else None,
                )
                for _ in range(count)
            ]
            res = await backend.enqueue_many(specs)
        finally:
            await backend.close()
        console.print(f"queued {len(res.ids)} job(s)" + (f", first id {res.ids[0]}" if res.ids else ""))
        for key in res.skipped_unique_keys:
            console.print(f"skipped: unique key {key!r} already exists")

    run(body)


@jobs_app.command("stats")
def jobs_stats(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Queue depth per priority, kind and status; oldest wait; throughput; SLA breaches."""

    async def body() -> None:
        from aimanager.cli.jobs_cmd import print_health
        from aimanager.jobs.backends.sql.health import queue_health

        backend = await open_backend()
        try:
            s = await backend.stats()
            health = await queue_health(backend.engine)
        finally:
            await backend.close()
        if as_json:
            tables = None if health is None else asdict(health)
            typer.echo(json.dumps({**asdict(s), "tables": tables}, indent=2))
            return
        t = Table("priority", "queued", "started", "SLA breaches", title="jobs by priority")
        for p in Priority:
            n = p.name.lower()
            t.add_row(
                n,
                str(s.queued_by_priority.get(n, 0)),
                str(s.started_by_priority.get(n, 0)),
                str(s.sla_breaches.get(n, 0)),
            )
        console.print(t)
        k = Table("kind", *[st.value for st in JobStatus], title="jobs by kind")
        for kind, counts in sorted(s.by_kind.items()):
            k.add_row(kind, *[str(counts.get(st.value, 0)) for st in JobStatus])
        console.print(k)
        wait = "-" if s.oldest_ready_wait_s is None else f"{s.oldest_ready_wait_s:.1f}s"
        console.print(
            f"oldest ready job waiting: {wait}; throughput: {s.throughput_per_s:.1f} jobs/s (last 60 s)"
        )
        print_health(health)

    run(body)


@jobs_app.command("list")
def jobs_list(
    status: JobStatus | None = typer.Option(None, help="Filter by status."),
    kind: str | None = typer.Option(None),
    limit: int = typer.Option(20, min=1, max=10_000),
) -> None:
    """Newest jobs first."""

    async def body() -> None:
        backend = await open_backend()
        try:
            jobs = await backend.list_jobs(status=status, kind=kind, limit=limit)
        finally:
            await backend.close()
        t = Table("id", "kind", "partner", "priority", "status", "attempts", "last error")
        for j in jobs:
            t.add_row(
                str(j.id),
                j.kind,
                str(j.partner_id or "-"),
                j.priority.name.lower(),
                j.status.value,
                f"{j.attempts}/{j.max_attempts}",
                (j.last_error or "")[:80],
            )
        console.print(t)

    run(body)


@jobs_app.command("retry")
def jobs_retry(ids: list[int]) -> None:
    """Queue dead, failed or cancelled jobs again."""

    async def body() -> None:
        backend = await open_backend()
        try:
            n = await backend.retry_dead(ids)
        finally:
            await backend.close()
        console.print(f"requeued {n} of {len(ids)} job(s)")

    run(body)


@jobs_app.command("cancel")
def jobs_cancel(ids: list[int]) -> None:
    """Cancel queued jobs (running ones finish their attempt)."""

    async def body() -> None:
        backend = await open_backend()
        try:
            n = await backend.cancel(ids)
        finally:
            await backend.close()
        console.print(f"cancelled {n} of {len(ids)} job(s)")

    run(body)


@jobs_app.command("prune")
def jobs_prune(days: float | None = typer.Option(None, help="Retention (default from settings).")) -> None:
    """Delete finished jobs older than the retention period."""

    async def body() -> None:
        backend = await open_backend()
        keep = days if days is not None else get_settings().job_retention_days
        try:
            n = await backend.prune(keep * 86400.0)
        finally:
            await backend.close()
        console.print(f"pruned {n} finished job(s) older than {keep:g} day(s)")

    run(body)
