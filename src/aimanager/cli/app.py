"""The root typer app and its sub-apps; command modules register themselves on these."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="aimanager",
    help="AI Manager: cards, prices, stock and analytics for marketplace seller partners.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
jobs_app = typer.Typer(help="Inspect and manage jobs.", no_args_is_help=True)
sandbox_app = typer.Typer(help="Start the local sandbox servers (loopback only).", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks; figures go to BENCHMARKS.md.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(bench_app, name="bench")
