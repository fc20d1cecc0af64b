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
from aimanager.cli import serve_cmd  # noqa: F401  isort: skip
from aimanager.cli import settings_cmd  # noqa: F401  isort: skip
from aimanager.cli import review_cmd  # noqa: F401  isort: skip
from aimanager.cli import partners_cmd, accounts_cmd, keys_cmd  # noqa: F401  isort: skip
from aimanager.cli import onboard_cmd  # noqa: F401  isort: skip
from aimanager.cli import jobs_cmd  # noqa: F401  isort: skip
from aimanager.cli import images_cmd  # noqa: F401  isort: skip

load_plugins()


PROG = "aimanager"


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``aimanager`` script (``argv``: the arguments, default ``sys.argv[1:]``)."""
    try:
        # Without standalone mode click returns a ``typer.Exit``'s code instead of exiting with it.
        code = app(args=argv, prog_name=PROG, standalone_mode=False)
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
        typer.secho(f"error: {usage_line(exc)}", err=True, fg="red")
        sys.exit(int(getattr(exc, "exit_code", 2)))
    except ValidationError as exc:
        if exc.title != "Settings":
            raise
        # Settings come from AIMANAGER_* variables: name the variable and what is wrong with it.
        for error in exc.errors():
            field = "_".join(str(part) for part in error["loc"]).upper()
            typer.secho(f"error: AIMANAGER_{field}: {error['msg']}", err=True, fg="red")
        sys.exit(2)


def usage_line(exc: Exception) -> str:
    """A usage error as one line naming the command: ``aimanager run: Invalid value for … (see …)``.

    Click's messages may span lines (a missing choice lists one choice per line) and a group called
    without a command carries its whole help text, already printed to stdout; both become one line.
    """
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None and ctx.command_path else PROG
    if type(exc).__name__ == "NoArgsIsHelpError":
        names = sorted(getattr(ctx.command, "commands", {}) or {}) if ctx is not None else []
        return f"{path}: missing command; one of {', '.join(names)} (see `{path} --help`)"
    format_message = getattr(exc, "format_message", None)
    message = format_message() if callable(format_message) else str(exc)
    message = " ".join(message.replace(",\n", ", ").split())
    return f"{path}: {message} (see `{path} --help`)"
