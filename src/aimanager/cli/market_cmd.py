"""Marketplace commands: ``aimanager sandbox marketplaces`` and ``aimanager bench connectors``."""

from __future__ import annotations

import threading

import typer

from aimanager.cli.app import app, bench_app, jobs_app, sandbox_app  # noqa: F401


@sandbox_app.command("marketplaces")
def sandbox_marketplaces(
    port: int = typer.Option(8801, help="First loopback port; each marketplace takes the next one."),
    time_scale: float = typer.Option(1.0, help="Wall seconds per marketplace second (limits, task delays)."),
    task_delay: float = typer.Option(3.0, help="Marketplace seconds until an async task finishes."),
    error_rate: float = typer.Option(0.0, help="Share of requests answered 503."),
    timeout_rate: float = typer.Option(0.0, help="Share of requests that hang before answering."),
    seed: int = typer.Option(7, help="Seed of the order/sales history and the fault dice."),
    no_limits: bool = typer.Option(False, "--no-limits", help="Do not enforce rate limits."),
) -> None:
    """Serve every marketplace sandbox on 127.0.0.1 (one port each) until interrupted."""
    from aimanager.sandbox.marketplaces import available
    from aimanager.sandbox.marketplaces.common import FaultConfig, SandboxConfig
    from aimanager.sandbox.serving import BackgroundServer

    servers = []
    for offset, (marketplace, factory) in enumerate(sorted(available().items())):
        config = SandboxConfig(
            time_scale=time_scale,
            task_delay=task_delay,
            seed=seed,
            enforce_limits=not no_limits,
            faults=FaultConfig(error_rate=error_rate, timeout_rate=timeout_rate),
        )
        server = BackgroundServer(factory(config), port=port + offset if port else 0)
        typer.echo(f"{marketplace.value:12} {server.start()}")
        servers.append(server)
    typer.echo("sandboxes up; Ctrl-C stops them", err=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        for server in servers:
            server.stop()


def _duration(seconds: float) -> str:
    if seconds <= 0:
        return "0 s (within burst)"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"


def connectors_table(partners: int = 100, skus: int = 100) -> str:
    """The BENCHMARKS.md table, computed from each connector's ``BULK_PROFILE`` (its own batch sizes
    and limit constants): a marketplace appears as soon as its package exports one."""
    from aimanager.connectors.ratelimit import plan_bulk
    from aimanager.connectors.registry import bulk_profiles

    lines = [
        f"Full update of **{partners} partners × {skus} SKUs** per marketplace. Limits are per seller "
        "account, so partners run in parallel and the least time is one partner's under the slowest "
        "documented limit (token bucket starting full). Computed by `aimanager bench connectors` from "
        "the connectors' own batching and limit constants.",
        "",
        "| Marketplace | Price batch | Price calls | Price min time | Stock batch | Stock calls "
        "| Stock min time | Limits applied |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for p in bulk_profiles():
        price = plan_bulk(
            p.price_batch, p.price_limits, partners=partners, skus=skus, follow=p.price_follow_calls
        )
        stock = plan_bulk(p.stock_batch, p.stock_limits, partners=partners, skus=skus)
        lines.append(
            f"| {p.marketplace} | {p.price_batch} | {price.calls} ({price.calls_per_partner}/partner) "
            f"| {_duration(price.seconds)} | {p.stock_batch} | {stock.calls} "
            f"({stock.calls_per_partner}/partner) | {_duration(stock.seconds)} | {p.notes} |"
        )
    one = [
        "",
        f"Same figures for **one partner with {partners * skus} SKUs** (one account's limits bind):",
        "",
        "| Marketplace | Price calls | Price min time | Stock calls | Stock min time |",
        "|---|---:|---:|---:|---:|",
    ]
    for p in bulk_profiles():
        price = plan_bulk(
            p.price_batch, p.price_limits, partners=1, skus=partners * skus, follow=p.price_follow_calls
        )
        stock = plan_bulk(p.stock_batch, p.stock_limits, partners=1, skus=partners * skus)
        one.append(
            f"| {p.marketplace} | {price.calls} | {_duration(price.seconds)} | {stock.calls} "
            f"| {_duration(stock.seconds)} |"
        )
    return "\n".join(lines + one)


@bench_app.command("connectors")
def bench_connectors(
    partners: int = typer.Option(100, help="Partners (seller accounts)."),
    skus: int = typer.Option(100, help="SKUs per partner."),
    output: str = typer.Option("BENCHMARKS.md", help="File to update (section 'connectors')."),
) -> None:
    """API calls and least time for a full price and stock update, per marketplace."""
    from aimanager.benchmarks import machine_line, write_section

    table = connectors_table(partners, skus)
    section = f"## Connectors: bulk price and stock updates\n\n{machine_line()}\n\n{table}\n"
    path = write_section("connectors", section, output)
    typer.echo(table)
    typer.echo(f"written to {path}", err=True)
