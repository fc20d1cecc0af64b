"""``aimanager sandbox up|llm|marketplaces``: the loopback servers, registered on the product's CLI
through the ``aimanager.commands`` entry point (the product never imports this package)."""

from __future__ import annotations

import threading
from pathlib import Path

import typer

sandbox_app = typer.Typer(help="Start the local sandbox servers (loopback only).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``aimanager sandbox …`` to the product's CLI."""
    app.add_typer(sandbox_app, name="sandbox")


@sandbox_app.command("up")
def sandbox_up(
    time_scale: float = typer.Option(
        1.0, "--time-scale", min=0.001, help="Wall seconds per sandbox second (latency, limits, task delays)."
    ),
    llm: bool = typer.Option(True, "--llm/--no-llm", help="Start the LLM sandbox too."),
    telegram: bool = typer.Option(True, "--telegram/--no-telegram", help="Start the Telegram sandbox too."),
    kind: bool = typer.Option(
        False, "--kind", help="A kind LLM: no imperfect answers, faults or lost batch items."
    ),
    partner: str = typer.Option("acme", "--partner", help="The partner slug in the printed commands."),
    state_file: Path | None = typer.Option(
        None, "--state-file", metavar="PATH", help="Also write URLs, accounts and commands here as JSON."
    ),
    seed: int = typer.Option(7, help="Seed of the sandboxes' histories and dice."),
    catalog: Path | None = typer.Option(
        None, "--catalog", metavar="CSV", help="Open a seeded account per partner of this catalog too."
    ),
    accounts_file: Path | None = typer.Option(
        None, "--accounts-file", metavar="PATH", help="With --catalog: the accounts, for `partners import`."
    ),
    history_days: int = typer.Option(60, min=0, help="With --catalog: days of order history per account."),
    llm_error_rate: float | None = typer.Option(
        None, min=0.0, max=1.0, help="Share of LLM calls answered 500 or 529, half each (default: its own)."
    ),
    market_error_rate: float = typer.Option(
        0.0, min=0.0, max=1.0, help="Share of marketplace requests answered 503."
    ),
    llm_rpm: int | None = typer.Option(None, min=0, help="LLM requests per minute; 0 = unlimited."),
    llm_itpm: int | None = typer.Option(None, min=0, help="LLM input tokens per minute; 0 = unlimited."),
    llm_otpm: int | None = typer.Option(None, min=0, help="LLM output tokens per minute; 0 = unlimited."),
    llm_bad_answer_rate: float | None = typer.Option(
        None, min=0.0, max=1.0, help="Total share of imperfect LLM answers, spread over every kind."
    ),
    llm_batch_seconds: float | None = typer.Option(
        None, min=0.0, help="Fixed processing time of an LLM batch (sandbox seconds); default 5-60 min."
    ),
) -> None:
    """Start every sandbox (4 marketplaces, LLM, Telegram) on free 127.0.0.1 ports and print the
    commands that connect a partner to them; runs until Ctrl-C / SIGTERM."""
    from aimanager_sandbox.knobs import SandboxKnobs
    from aimanager_sandbox.up import UpOptions, run_up

    if state_file is not None and not state_file.parent.is_dir():
        raise typer.BadParameter(f"{state_file.parent}: no such directory", param_hint="'--state-file'")
    if (catalog is None) != (accounts_file is None):
        raise typer.BadParameter("give both --catalog and --accounts-file", param_hint="'--catalog'")
    if catalog is not None and not catalog.is_file():
        raise typer.BadParameter(f"{catalog}: no such file", param_hint="'--catalog'")
    options = UpOptions(
        time_scale=time_scale,
        llm=llm,
        telegram=telegram,
        kind_llm=kind,
        partner=partner,
        seed=seed,
        catalog=catalog,
        accounts_file=accounts_file,
        history_days=history_days,
        knobs=SandboxKnobs(
            llm_error_rate=llm_error_rate,
            market_error_rate=market_error_rate,
            llm_rpm=llm_rpm,
            llm_itpm=llm_itpm,
            llm_otpm=llm_otpm,
            llm_bad_answer_rate=llm_bad_answer_rate,
            llm_batch_seconds=llm_batch_seconds,
        ),
    )
    run_up(options, state_file)
    typer.echo("sandboxes stopped", err=True)


@sandbox_app.command("llm")
def sandbox_llm(
    port: int = typer.Option(8765, help="Loopback port (0 picks a free one)."),
    time_scale: float = typer.Option(1.0, help="Multiply every duration (latency, limit windows) by this."),
    rpm: int = typer.Option(4000, help="Requests per (sandbox) minute per model; 0 = unlimited."),
    itpm: int = typer.Option(4_000_000, help="Input tokens per minute; 0 = unlimited."),
    otpm: int = typer.Option(800_000, help="Output tokens per minute; 0 = unlimited."),
    ttft_min: float = typer.Option(0.5, help="Minimum time to first token per call (sandbox seconds)."),
    ttft_max: float = typer.Option(1.0, help="Maximum time to first token per call (sandbox seconds)."),
    tps_min: float = typer.Option(100.0, help="Minimum output throughput per call (tokens/s)."),
    tps_max: float = typer.Option(200.0, help="Maximum output throughput per call (tokens/s)."),
    error_rate: float | None = typer.Option(
        None, help="Share of calls answered 500 (default: a few per mille)."
    ),
    overload_rate: float | None = typer.Option(None, help="Share of calls answered 529 (default: 0.5 %)."),
    rate_limit_rate: float | None = typer.Option(None, help="Share of calls answered 429 + retry-after."),
    bad_answer_rate: float | None = typer.Option(
        None, help="Total share of imperfect answers, spread over every kind (default: a few per cent)."
    ),
    batch_seconds: float | None = typer.Option(
        None, help="Fixed processing time of a batch (sandbox seconds); default 5-60 sandbox minutes."
    ),
    echo_headers: bool = typer.Option(False, "--echo-headers", help="Echo request headers in error bodies."),
    kind: bool = typer.Option(
        False, "--kind", help="A kind model: no bad answers, faults or lost batch items."
    ),
    seed: int = typer.Option(7, help="Seed of the fault, answer and latency dice."),
) -> None:
    """Serve Anthropic Messages/Batches and OpenAI Chat/Batch on 127.0.0.1, behaving like a real provider
    (real token counts, size-dependent latency, imperfect answers, faults). Point the gateway at it with
    AIMANAGER_ANTHROPIC_BASE_URL / AIMANAGER_OPENAI_BASE_URL; change faults while it runs with
    POST /_sandbox/faults."""
    import uvicorn

    from aimanager_sandbox.llm import PERFECT, SandboxConfig, create_app

    config = SandboxConfig(
        time_scale=time_scale,
        rpm=rpm or None,
        itpm=itpm or None,
        otpm=otpm or None,
        ttft_min_s=ttft_min,
        ttft_max_s=ttft_max,
        tps_min=tps_min,
        tps_max=tps_max,
        batch_seconds=batch_seconds,
        echo_headers_in_errors=echo_headers,
        seed=seed,
    )
    if kind:
        config.update(dict(PERFECT))
    rates = {"error_500_rate": error_rate, "overload_rate": overload_rate, "rate_limit_rate": rate_limit_rate}
    config.update({name: value for name, value in rates.items() if value is not None})
    if bad_answer_rate is not None:
        config.set_bad_answer_rate(bad_answer_rate)
    typer.echo(f"LLM sandbox on http://127.0.0.1:{port} (time scale {time_scale})", err=True)
    uvicorn.run(create_app(config), host="127.0.0.1", port=port, log_level="warning", access_log=False)


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
    from aimanager_sandbox.common.sandbox import FaultConfig, SandboxConfig
    from aimanager_sandbox.common.serving import BackgroundServer
    from aimanager_sandbox.marketplaces import SANDBOXES

    servers = []
    for offset, (marketplace, factory) in enumerate(sorted(SANDBOXES.items())):
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
