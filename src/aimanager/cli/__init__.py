"""Command line face: ``aimanager …``.

Every deliberate error ends the command with one line on stderr and exit code 1; a usage error (an
unknown command or option, a bad value, an unsupported ``AIMANAGER_*`` setting) with one line and exit
code 2. Tracebacks are for bugs only.
"""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError

from aimanager.cli.app import app, load_plugins
from aimanager.errors import AIManagerError

# Command modules register on import.
from aimanager.cli import engine_cmd, operator_cmd, pipeline_cmd, schedule_cmd  # noqa: F401  isort: skip
from aimanager.cli import alerts_cmd  # noqa: F401  isort: skip

load_plugins()


def main() -> None:
    """Entry point of the ``aimanager`` script."""
    try:
        # Without standalone mode click returns a ``typer.Exit``'s code instead of exiting with it.
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except AIManagerError as exc:
        typer.secho(f"error: {exc}", err=True, fg="red")
        sys.exit(1)
    except (typer.Abort, KeyboardInterrupt):
        typer.secho("aborted", err=True)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:
        # Usage errors (an unknown command or option, a bad value) reach here with standalone_mode=False:
        # one line and exit 2, as a shell user expects, never a traceback.
        format_message = getattr(exc, "format_message", None)
        message = format_message() if callable(format_message) else str(exc)
        typer.secho(f"error: {message} (see --help)", err=True, fg="red")
        sys.exit(int(getattr(exc, "exit_code", 2)))
    except ValidationError as exc:
        if exc.title != "Settings":
            raise
        # Settings come from AIMANAGER_* variables: name the variable and what is wrong with it.
        for error in exc.errors():
            field = "_".join(str(part) for part in error["loc"]).upper()
            typer.secho(f"error: AIMANAGER_{field}: {error['msg']}", err=True, fg="red")
        sys.exit(2)
