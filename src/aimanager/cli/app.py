"""The root typer app and its sub-apps; command modules register themselves on these.

Commands that ship beside the product (the sandbox servers, the demo, the benchmarks) join through the
``aimanager.commands`` entry point group: each entry names a ``register(app)`` function. The product
never imports those packages; an installation without them simply has no such commands.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib.metadata import entry_points

import typer

app = typer.Typer(
    name="aimanager",
    help="AI Manager: cards, prices, stock and analytics for marketplace seller partners.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    verbose: int = typer.Option(
        0,
        "--verbose",
        "-v",
        count=True,
        help="More log output on stderr: -v every structured event, -vv debug and HTTP requests.",
    ),
) -> None:
    """Options before the command apply to every command: ``aimanager -v worker``."""
    from aimanager.logs import configure, set_verbosity

    set_verbosity(verbose)
    # Quiet unless asked: the worker and the alert loop configure again with AIMANAGER_LOG_* settings;
    # any other command's library noise (an HTTP line per request) stays off here.
    configure()


jobs_app = typer.Typer(help="Inspect and manage jobs.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")


def one_of(*values: str) -> Callable[[str | None], str | None]:
    """An option callback refusing anything outside ``values`` while parsing: a bad value is a usage
    error (one line, exit 2) before the command opens a database or calls a marketplace."""

    def check(value: str | None) -> str | None:
        if value is not None and value not in values:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(values)}")
        return value

    return check


def process_count(value: str) -> str:
    """Option callback: ``--processes`` is a positive number or ``auto``, checked while parsing."""
    text = value.strip().lower()
    if text != "auto" and (not text.isdigit() or int(text) < 1):
        raise typer.BadParameter(f"expected a positive number or 'auto', got {value!r}")
    return text


def priority_name(value: str | None) -> str | None:
    """Option callback: a job priority name (urgent, high, medium, low), checked while parsing."""
    from aimanager.jobs import Priority

    if value is not None:
        try:
            Priority.parse(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    return value


def load_plugins() -> None:
    """Let every installed ``aimanager.commands`` entry point add its commands.

    A plugin that fails to load (a missing optional dependency, a broken install) costs only its own
    commands, with one line on stderr: the product's commands — the worker above all — still run.
    """
    for entry in sorted(entry_points(group="aimanager.commands"), key=lambda e: e.name):
        try:
            entry.load()(app)
        except Exception as exc:
            print(f"warning: commands of {entry.value!r} not loaded: {exc}", file=sys.stderr)
