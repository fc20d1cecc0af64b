"""``aimanager bench scenario|day|images|fleet|recovery``: the benchmarks that run the whole system
(sandboxes, workers, the original design) rather than one component. Added to ``bench_app`` when the
lab registers its commands (``cli.register``)."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import typer

from aimanager.logs import configure
from aimanager_lab.cli import bench_app, console


@bench_app.command("scenario")
def bench_scenario(
    partners: int = typer.Option(100, min=1),
    skus: int = typer.Option(100, min=1),
    time_scale: float = typer.Option(0.01, help="Compress every sandbox delay and window by this factor."),
    concurrency: int = typer.Option(128, min=1),
    urgent: int = typer.Option(50, help="Urgent single-SKU requests injected while the backlog runs."),
    baseline: bool = typer.Option(True, help="Also run the original design's approach."),
    baseline_partners: int = typer.Option(
        10, help="Run the original approach on this many partners and extrapolate (0: all of them)."
    ),
    llm_error_rate: float = typer.Option(0.05, help="Transient LLM errors (500/529) injected."),
    market_error_rate: float = typer.Option(0.02, help="Transient marketplace 5xx injected."),
    write: bool = typer.Option(True, help="Write the figures to BENCHMARKS.md."),
) -> None:
    """The original design's scenario: AI Manager through its public commands (sandbox up, init, import,
    partners import, worker, run; urgent repricings through the HTTP API) and the original approach."""
    import shlex
    import sys
    import tempfile

    from aimanager.settings import Settings
    from aimanager_lab.bench.figures import render
    from aimanager_lab.bench.record import machine_line, write_section
    from aimanager_lab.bench.scenario import ScenarioOptions, run_scenario

    configure("ERROR")
    workdir = Path(tempfile.mkdtemp(prefix="aim-scenario-"))
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{workdir / 'scenario.db'}", secret_key_file=workdir / "key"
    )
    baseline_settings = Settings(
        database_url=f"sqlite+aiosqlite:///{workdir / 'baseline.db'}", secret_key_file=workdir / "key"
    )
    ours, base, bound = asyncio.run(
        run_scenario(
            settings,
            ScenarioOptions(
                partners, skus, time_scale, concurrency, urgent, llm_error_rate, market_error_rate
            ),
            baseline=baseline,
            baseline_partners=baseline_partners or None,
            baseline_settings=baseline_settings,
            log=console.print,
        )
    )
    from aimanager_lab.bench.figures import RunFigures

    command = "aimanager bench scenario " + " ".join(shlex.quote(a) for a in sys.argv[3:])
    md = render(
        ours,
        base or RunFigures("original design (not run)"),
        bound,
        command=command.strip(),
        machine=machine_line(),
        time_scale=time_scale,
        partners=partners,
        skus=skus,
    )
    console.print(md)
    if write:
        write_section("scenario", md)


@bench_app.command("day")
def bench_day(
    partners: int = typer.Option(5, min=1, help="Partners measured (the figures scale per partner)."),
    skus: int = typer.Option(100, min=1),
    target_partners: int = typer.Option(100, min=1, help="Partners the day's figures are scaled to."),
    time_scale: float = typer.Option(0.01, help="Sandbox clock: wall seconds per marketplace second."),
    orders_seconds: float = typer.Option(150.0, help="Wall seconds the buyers order for (part b)."),
    per_day: float = typer.Option(2.0, help="Orders per offer per marketplace day (part b)."),
    concurrency: int = typer.Option(64, min=1),
    write: bool = typer.Option(True, help="Write the figures to BENCHMARKS.md."),
) -> None:
    """A day of continuous operation: steady-state cost of an unchanged catalog (LLM $ and marketplace
    calls at the default schedules) and order → other marketplaces' quantities dropping (p50/p99)."""
    import shlex
    import sys

    from aimanager_lab.bench.day import render, run_day_bench
    from aimanager_lab.bench.record import machine_line, write_section

    configure("ERROR")
    figs = asyncio.run(
        run_day_bench(
            partners=partners,
            skus=skus,
            target=target_partners,
            time_scale=time_scale,
            latency_s=orders_seconds,
            per_day=per_day,
            concurrency=concurrency,
            progress=console.print,
        )
    )
    command = "aimanager bench day " + " ".join(shlex.quote(a) for a in sys.argv[3:])
    md = render(figs, command=command.strip(), machine=machine_line(), time_scale=time_scale)
    console.print(md)
    if write:
        write_section("day", md)


@bench_app.command("images")
def bench_images(
    products: int = typer.Option(60, min=1, max=500, help="Products rendered (all four marketplaces)."),
    vision_calls: int = typer.Option(20, min=1, max=200, help="Vision calls against the LLM sandbox."),
    write: bool = typer.Option(True, help="Write the figures to BENCHMARKS.md (section 'images')."),
) -> None:
    """Images per second per worker process, storage bytes per product, vision cost per 1,000 products."""
    import os
    import shlex
    import sys

    from aimanager_lab.bench.images import render, render_run, vision_run
    from aimanager_lab.bench.record import machine_line, write_section

    configure("ERROR")
    with tempfile.TemporaryDirectory() as tmp:
        figs = asyncio.run(render_run(products, Path(tmp)))
    vision = asyncio.run(vision_run(vision_calls))
    command = "aimanager bench images " + " ".join(shlex.quote(a) for a in sys.argv[3:])
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    md = render(figs, vision, command=command.strip(), machine=machine_line(), load=load)
    typer.echo(md)
    if write:
        write_section("images", md)


@bench_app.command("fleet")
def bench_fleet(
    partners: int = typer.Option(100, min=1),
    skus: int = typer.Option(10, min=1),
    workers: int = typer.Option(2, min=1, help="Worker processes (`aimanager worker --processes N`)."),
    concurrency: int = typer.Option(64, min=1, help="Jobs in flight per worker process."),
    time_scale: float = typer.Option(0.05, min=0.001, help="Wall seconds per sandbox second."),
    history_days: int = typer.Option(30, min=0, help="Days of order history seeded per account."),
    pg_url: str = typer.Option(
        "postgresql+asyncpg://postgres@127.0.0.1:5432/aimanager_fleet",
        help="The bench database (dropped and created; dropped after).",
    ),
    redis_url: str = typer.Option(
        "redis://127.0.0.1:6379/5", help="Redis database (flushed first); '' for none."
    ),
    timeout: float = typer.Option(3600.0, help="Seconds to wait for the queue to drain."),
    write: bool = typer.Option(True, "--write/--no-write", help="Write the figures to BENCHMARKS.md."),
) -> None:
    """Many partners on PostgreSQL + Redis with N worker processes, through public commands only."""
    import shlex
    import sys

    from aimanager_lab.bench.fleet import FleetOptions, render_fleet, run_fleet
    from aimanager_lab.bench.record import machine_line, write_section

    options = FleetOptions(
        partners=partners,
        skus=skus,
        workers=workers,
        concurrency=concurrency,
        time_scale=time_scale,
        history_days=history_days,
        pg_url=pg_url,
        redis_url=redis_url,
        timeout_s=timeout,
    )
    result = asyncio.run(run_fleet(options, log=console.print))
    command = "aimanager bench fleet " + " ".join(shlex.quote(a) for a in sys.argv[3:])
    md = render_fleet(result, command=command.strip(), machine=machine_line())
    typer.echo(md)
    if write:
        write_section("fleet", md)


@bench_app.command("recovery")
def bench_recovery(
    workers: int = typer.Option(2, min=1, help="Worker processes draining the queue (PostgreSQL case)."),
    concurrency: int = typer.Option(10, min=1, help="Jobs in flight per worker process."),
    lease: float = typer.Option(10.0, min=1.0, help="Lease seconds of every worker (`--lease`)."),
    rounds: int = typer.Option(3, min=1, help="PostgreSQL restarts, one per round."),
    jobs: int = typer.Option(1000, min=10, help="Sleep jobs queued per round."),
    job_ms: int = typer.Option(100, min=1, help="Milliseconds each sleep job takes."),
    redis: bool = typer.Option(True, "--redis/--no-redis", help="Run the Redis outage case."),
    outage: float = typer.Option(20.0, min=1.0, help="Seconds Redis stays down."),
    baseline: bool = typer.Option(True, "--baseline/--no-baseline", help="Also run it without the outage."),
    partners: int = typer.Option(4, min=1, help="Partners of the Redis case (× 4 marketplaces)."),
    skus: int = typer.Option(8, min=1, help="SKUs per partner in the Redis case."),
    time_scale: float = typer.Option(0.25, min=0.001, help="Sandbox clock of the Redis case."),
    write: bool = typer.Option(True, "--write/--no-write", help="Write the figures to BENCHMARKS.md."),
) -> None:
    """Recovery times: PostgreSQL restart, Redis outage and worker SIGKILL, on servers of its own."""
    import shlex
    import sys

    from aimanager_lab.bench.record import machine_line, write_section
    from aimanager_lab.bench.recovery import RecoveryOptions, run_recovery
    from aimanager_lab.bench.recovery_report import render

    configure("WARNING")
    options = RecoveryOptions(
        workers=workers, concurrency=concurrency, lease_s=lease, rounds=rounds, jobs=jobs, job_ms=job_ms,
        redis=redis, outage_s=outage, baseline=baseline, partners=partners, skus=skus, time_scale=time_scale,
    )  # fmt: skip
    figs = asyncio.run(run_recovery(options, log=console.print))
    command = "aimanager bench recovery " + " ".join(shlex.quote(a) for a in sys.argv[3:])
    md = render(figs, command=command.strip(), machine=machine_line())
    typer.echo(md)
    if write:
        write_section("recovery", md)
