"""Command line face: ``aimanager …``.

Every deliberate error ends the command with one line on stderr and exit code 1; tracebacks are for
bugs only.
"""

from __future__ import annotations

import sys

import typer

from aimanager.cli.app import app, load_plugins
from aimanager.errors import AIManagerError

# Command modules register on import.
from aimanager.cli import engine_cmd, pipeline_cmd  # noqa: F401  isort: skip

load_plugins()


def main() -> None:
    """Entry point of the ``aimanager`` script."""
    try:
        app(standalone_mode=False)
    except AIManagerError as exc:
        typer.secho(f"error: {exc}", err=True, fg="red")
        sys.exit(1)
    except (typer.Abort, KeyboardInterrupt):
        typer.secho("aborted", err=True)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # click usage errors arrive here with standalone_mode=False
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
