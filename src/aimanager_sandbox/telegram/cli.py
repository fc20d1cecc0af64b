"""``aimanager sandbox telegram``: joins the ``sandbox`` command group through its own
``aimanager.commands`` entry point (``telegram``, loaded after ``sandbox`` since entry points load by
name), so ``aimanager_sandbox/cli.py`` needs no change."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add ``telegram`` to ``aimanager sandbox``."""
    from aimanager_sandbox.cli import sandbox_app

    sandbox_app.command("telegram")(sandbox_telegram)


def sandbox_telegram(
    port: int = typer.Option(8790, help="Loopback port (0 picks a free one)."),
    time_scale: float = typer.Option(1.0, help="Wall seconds per sandbox second (rate limits)."),
    token: list[str] = typer.Option(
        [], "--token", help="A bot token the sandbox accepts (repeatable; default: any well-formed one)."
    ),
    no_limits: bool = typer.Option(False, "--no-limits", help="Do not enforce Telegram's rate limits."),
) -> None:
    """Serve the Telegram Bot API (sendMessage, getMe) on 127.0.0.1; read what arrived at
    GET /_sandbox/messages. Point an alert channel at it with --setting base_url=http://127.0.0.1:PORT."""
    import uvicorn

    from aimanager_sandbox.common.serving import loopback_socket
    from aimanager_sandbox.telegram import TelegramConfig, create_app

    config = TelegramConfig(time_scale=time_scale, tokens=set(token) or None, enforce_limits=not no_limits)
    sock = loopback_socket(port)
    typer.echo(f"Telegram sandbox on http://127.0.0.1:{sock.getsockname()[1]}", err=True)
    server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning", access_log=False))
    server.run(sockets=[sock])
