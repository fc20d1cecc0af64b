"""``aimanager demo`` and ``aimanager bench …``, registered on the product's CLI through the
``aimanager.commands`` entry point (the product never imports the lab)."""

from __future__ import annotations

import asyncio
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from aimanager.domain.enums import Capability
from aimanager.jobs import Priority
from aimanager.logs import configure
from aimanager.settings import get_settings
from aimanager_lab.bench.connectors import connectors_table
from aimanager_lab.bench.llm import SandboxProcess, bench_products, run_cards

if TYPE_CHECKING:
    from aimanager_lab.demo import DemoResult

console = Console()
bench_app = typer.Typer(help="Benchmarks; figures go to BENCHMARKS.md.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``aimanager demo`` and ``aimanager bench …`` to the product's CLI."""
    # The whole-system runs (scenario, day, images, fleet, recovery) add themselves to ``bench_app``.
    from aimanager_lab import cli_runs  # noqa: F401

    app.command()(demo)
    app.add_typer(bench_app, name="bench")


def demo(
    partners: int = typer.Option(10, min=1, max=1000),
    skus: int = typer.Option(100, min=1, max=10_000),
    time_scale: float = typer.Option(0.02, help="Sandbox clock: 0.02 turns 2-5 s LLM calls into 40-100 ms."),
    concurrency: int = typer.Option(64, min=1),
) -> None:
    """Everything end to end on this machine: sample catalog → cards, prices, stock, analytics."""
    from aimanager_lab.demo import DemoOptions, run_demo

    settings = get_settings()
    configure("ERROR")
    opts = DemoOptions(partners=partners, skus=skus, time_scale=time_scale, concurrency=concurrency)

    async def body() -> None:
        result = await run_demo(settings, opts, console)
        _print_report(result)

    asyncio.run(body())


def _print_report(result: DemoResult) -> None:
    t = Table("capability", "tasks", "done", "failed", title="AI Manager demo")
    for cap in Capability:
        t.add_row(
            cap.value,
            str(result.tasks.get(cap.value, 0)),
            str(result.done.get(cap.value, 0)),
            str(result.failed.get(cap.value, 0)),
        )
    console.print(t)
    llm = result.llm
    console.print(
        f"wall time {result.wall_s:.1f} s · LLM calls {llm['calls']} · tokens in {llm['input_tokens']:,} / "
        f"out {llm['output_tokens']:,} · cost ${Decimal(llm['cost_usd']):.4f} · "
        f"cache hits {llm['cache_hits']}"
    )
    s = Table("priority", "jobs started", "started within SLA", title="start SLA")
    for prio in Priority:
        started, late = result.sla.get(prio.name.lower(), (0, 0))
        share = "-" if not started else f"{100 * (started - late) / started:.1f} %"
        s.add_row(prio.name.lower(), str(started), share)
    console.print(s)
    if result.previous_cost is not None:
        # Not the first run on this database: say what the unchanged catalog cost this time.
        console.print(
            f"[green]Repeat run: {llm['cache_hits']} cards came from the cache; {llm['calls']} LLM call(s) "
            f"(analytics narratives on today's figures) cost ${Decimal(llm['cost_usd']):.4f}, against "
            f"${result.previous_cost:.4f} spent by the earlier run(s) on this database."
        )
    if result.failures:
        console.print("failures (first 10):")
        for line in result.failures:
            console.print(f"  - {line}")
    if result.reports:
        console.print(
            f"analytics reports: {len(result.reports)} HTML files, e.g. {Path(result.reports[0]).resolve()}"
        )


@bench_app.command("engine")
def bench_engine(
    dialect: list[str] = typer.Option(["sqlite", "postgresql"], help="sqlite and/or postgresql."),
    pg_url: str = typer.Option(
        "postgresql://postgres@127.0.0.1:5432/postgres",
        help="Local PostgreSQL (a bench database is created).",
    ),
    scale: float = typer.Option(1.0, help="Scale the job counts (1.0 = the documented sizes)."),
    write: bool = typer.Option(True, help="Write the figures to BENCHMARKS.md."),
) -> None:
    """Engine throughput, urgent latency and SIGKILL recovery on each dialect."""
    import shlex
    import sys

    from aimanager_lab.bench.engine import render, run_engine_bench
    from aimanager_lab.bench.record import machine_line, write_section

    configure("WARNING")
    figs = asyncio.run(run_engine_bench(list(dialect), pg_url, scale=scale, progress=console.print))
    command = "aimanager bench engine " + " ".join(shlex.quote(a) for a in sys.argv[3:])
    md = render(figs, command.strip(), machine_line())
    console.print(md)
    if write:
        write_section("engine", md)


@bench_app.command("engine-peers")
def bench_engine_peers(
    pg_url: str = typer.Option(
        "postgresql://postgres@127.0.0.1:5432/postgres",
        help="Local PostgreSQL (bench databases are created).",
    ),
    jobs: int = typer.Option(20_000, min=100, help="No-op jobs per case."),
    write: bool = typer.Option(True, help="Write the figures to BENCHMARKS.md."),
) -> None:
    """The engine with 1, 2 and 4 worker processes next to pgqueuer and a bare SKIP LOCKED loop."""
    import shlex
    import sys

    from aimanager_lab.bench.engine_peers import render_peers, run_peer_bench
    from aimanager_lab.bench.record import machine_line, write_section

    configure("WARNING")
    fig = asyncio.run(run_peer_bench(pg_url, jobs=jobs, progress=console.print))
    command = "aimanager bench engine-peers " + " ".join(shlex.quote(a) for a in sys.argv[3:])
    md = render_peers(fig, command.strip(), machine_line())
    console.print(md)
    if write:
        write_section("engine-peers", md)


@bench_app.command("api")
def bench_api(
    database_url: str = typer.Option(
        "postgresql+asyncpg://postgres@127.0.0.1:5432/aimanager_bench_api",
        help="The database to fill and serve (created if it is a local PostgreSQL database that is missing).",
    ),
    partners: int = typer.Option(1_000, min=1),
    tasks: int = typer.Option(1_000_000, min=1),
    seconds: float = typer.Option(20.0, min=1.0, help="Seconds each route is driven."),
    concurrency: int = typer.Option(16, min=1, help="Concurrent clients."),
    write: bool = typer.Option(True, help="Write the figures to BENCHMARKS.md."),
) -> None:
    """API latency p50/p99 and requests per second of one `aimanager serve` on the main list routes."""
    import shlex
    import sys

    from aimanager_lab.bench.api import ensure_database, render_api, run_api_bench
    from aimanager_lab.bench.record import machine_line, write_section

    configure("WARNING")
    asyncio.run(ensure_database(database_url))
    figs = run_api_bench(
        database_url,
        partners=partners,
        tasks=tasks,
        seconds=seconds,
        concurrency=concurrency,
        progress=console.print,
    )
    command = "aimanager bench api " + " ".join(shlex.quote(a) for a in sys.argv[3:])
    dialect = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
    md = render_api(
        figs, partners=partners, tasks=tasks, dialect=dialect, command=command.strip(), machine=machine_line()
    )
    console.print(md)
    if write:
        write_section("api", md)


@bench_app.command("llm")
def bench_llm(
    items: int = typer.Option(2_000, help="Products (one ru+uz card each) per run."),
    time_scale: float = typer.Option(0.1, help="Sandbox time scale (1.0 = real latency and limits)."),
    rpm: int = typer.Option(4000),
    itpm: int = typer.Option(4_000_000),
    otpm: int = typer.Option(800_000),
    bad_answer_rate: float = typer.Option(0.05, help="Share of imperfect answers the sandbox model writes."),
    batch_seconds: float = typer.Option(600.0, help="Batch turnaround (sandbox seconds)."),
    output: Path = typer.Option(Path("BENCHMARKS.md"), help="File to write the 'llm' section of."),
    profile: Path | None = typer.Option(
        None, help="Write the real-time pass's cProfile stats here (the Batch API pass's to PATH.batch)."
    ),
) -> None:
    """Cards for the sample catalog through the gateway against the honest LLM sandbox: real time
    (packed, cached, then an unchanged re-run) and the Batch API for low priority."""
    from aimanager.logs import configure
    from aimanager_lab.bench.llm_report import render_llm
    from aimanager_lab.bench.record import machine_line, write_section

    configure("WARNING")
    limits = {"rpm": rpm, "itpm": itpm, "otpm": otpm}
    command = (
        f"aimanager bench llm --items {items} --time-scale {time_scale} --rpm {rpm} --itpm {itpm} "
        f"--otpm {otpm} --bad-answer-rate {bad_answer_rate} --batch-seconds {batch_seconds}"
    )
    if profile is None:
        # The product's public path: sandbox up, init, import, partners import, worker, run -c cards.
        from aimanager_lab.bench.llm import public_runs

        public = asyncio.run(
            public_runs(
                items, time_scale=time_scale, rpm=rpm, itpm=itpm, otpm=otpm,
                bad_answer_rate=bad_answer_rate, batch_seconds=batch_seconds,
                log=lambda line: typer.echo(line, err=True),
            )
        )  # fmt: skip
        md = render_llm(
            public, items=items, time_scale=time_scale, limits=limits, batch_seconds=batch_seconds,
            bad_answer_rate=bad_answer_rate, command=command, machine=machine_line(), public=True,
        )  # fmt: skip
        typer.echo(md)
        write_section("llm", md, output)
        return
    # --profile: the gateway in this process, where cProfile can see it (CPU per card).
    products = bench_products(items)
    sandbox_args = [
        "--time-scale",
        str(time_scale),
        "--rpm",
        str(rpm),
        "--itpm",
        str(itpm),
        "--otpm",
        str(otpm),
        "--bad-answer-rate",
        str(bad_answer_rate),
        "--batch-seconds",
        str(batch_seconds),
    ]
    runs = []
    for label, batch in (("real time, packed + cache", False), ("Batch API (low priority)", True)):
        sandbox = SandboxProcess(sandbox_args)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                db = f"sqlite+aiosqlite:///{tmp}/bench.db"
                run = asyncio.run(
                    run_cards(
                        sandbox.url,
                        products,
                        pack=True,
                        cache=not batch,
                        db=db,
                        batch=batch,
                        profile=None if profile is None else f"{profile}.batch" if batch else str(profile),
                    )
                )
            run["server"] = sandbox.stats()
        finally:
            sandbox.stop()
        runs.append((label, batch, run))
        s = run["stats"]
        typer.echo(
            f"{label}: wall {run['wall_s']:.1f} s, calls {s['calls']}, cut {s['cut_calls']}, "
            f"ok {run['ok']}/{items}, failed {run['failures']}, cost ${s['cost_usd']}, "
            f"CPU {run['cpu_s']:.1f} s ({1000 * run['cpu_s'] / items:.1f} ms per card)",
            err=True,
        )
    md = render_llm(
        runs,
        items=items,
        time_scale=time_scale,
        limits=limits,
        batch_seconds=batch_seconds,
        bad_answer_rate=bad_answer_rate,
        command=command,
        machine=machine_line(),
    )
    typer.echo(md)
    write_section("llm", md, output)


@bench_app.command("connectors")
def bench_connectors(
    partners: int = typer.Option(100, help="Partners (seller accounts)."),
    skus: int = typer.Option(100, help="SKUs per partner."),
    output: str = typer.Option("BENCHMARKS.md", help="File to update (section 'connectors')."),
) -> None:
    """API calls and least time for a full price and stock update, per marketplace."""
    from aimanager_lab.bench.record import machine_line, write_section

    table = connectors_table(partners, skus)
    section = f"## Connectors: bulk price and stock updates\n\n{machine_line()}\n\n{table}\n"
    path = write_section("connectors", section, output)
    typer.echo(table)
    typer.echo(f"written to {path}", err=True)
