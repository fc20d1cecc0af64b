"""The root typer app and its sub-apps; command modules register themselves on these.

Commands that ship beside the product (the sandbox servers, the demo, the benchmarks) join through the
``aimanager.commands`` entry point group: each entry names a ``register(app)`` function. The product
never imports those packages; an installation without them simply has no such commands.
"""

from __future__ import annotations

import sys
from importlib.metadata import entry_points

import typer

app = typer.Typer(
    name="aimanager",
    help="AI Manager: cards, prices, stock and analytics for marketplace seller partners.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
jobs_app = typer.Typer(help="Inspect and manage jobs.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")


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
