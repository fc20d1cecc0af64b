"""CLI: ``aimanager serve`` (the HTTP API and web console), ``apikeys`` and ``users`` (who may use them)."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console
from rich.table import Table

from aimanager.cli.app import app, one_of
from aimanager.cli.engine_cmd import open_backend

console = Console()
keys_app = typer.Typer(help="API keys: create (token shown once), list, revoke.", no_args_is_help=True)
users_app = typer.Typer(help="Console logins.", no_args_is_help=True)
app.add_typer(keys_app, name="apikeys")
app.add_typer(users_app, name="users")
ROLE_HELP = "admin (everything), staff (no secrets, no key management) or partner (its own data)."


def _role(value: str) -> str:
    if value not in ("admin", "staff", "partner"):
        raise typer.BadParameter("one of admin, staff, partner", param_hint="'--role'")
    return value


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8080, "--port", min=1, max=65535),
) -> None:
    """Serve the HTTP API (/v1, OpenAPI at /openapi.json) and the web console (/console)."""
    from aimanager.api.server import serve as run_server

    async def check() -> None:
        backend = await open_backend()  # initialised and reachable, or one line and exit 1
        await backend.close()

    asyncio.run(check())
    console.print(f"serving on http://{host}:{port}/console/ (API: /v1, schema: /openapi.json)")
    run_server(host, port)


@keys_app.command("create")
def keys_create(
    name: str = typer.Option(..., "--name", help="Who or what uses the key."),
    role: str = typer.Option(..., "--role", callback=_role, help=ROLE_HELP),
    partner: str | None = typer.Option(None, "--partner", help="Partner id or slug (role partner)."),
) -> None:
    """Create an API key; its token is printed once (only its SHA-256 is stored)."""
    from aimanager.api.access import create_key
    from aimanager.db.engine import session_factory

    async def body() -> None:
        backend = await open_backend()
        try:
            async with session_factory(backend.engine)() as session, session.begin():
                row, token = await create_key(session, name, role, partner)
                key_id = row.id
        finally:
            await backend.close()
        console.print(f"API key {key_id} ({role}) created; the token is shown only now:")
        typer.echo(token)

    asyncio.run(body())


@keys_app.command("list")
def keys_list() -> None:
    """Keys with their role and partner (never the token)."""
    from aimanager.api.access import list_keys
    from aimanager.db.engine import session_factory

    async def body() -> None:
        backend = await open_backend()
        try:
            async with session_factory(backend.engine)() as session:
                rows = await list_keys(session)
        finally:
            await backend.close()
        table = Table("id", "name", "prefix", "role", "partner", "last used", "revoked")
        for k in rows:
            used = f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "never"
            revoked = f"{k.revoked_at:%Y-%m-%d}" if k.revoked_at else ""
            table.add_row(str(k.id), k.name, k.prefix + "…", k.role, str(k.partner_id or ""), used, revoked)
        console.print(table)

    asyncio.run(body())


@keys_app.command("revoke")
def keys_revoke(
    key_id: int = typer.Argument(..., help="The key's id (see `aimanager apikeys list`)."),
) -> None:
    """Revoke a key: it stops working at once."""
    from aimanager.api.access import revoke_key
    from aimanager.db.engine import session_factory

    async def body() -> None:
        backend = await open_backend()
        try:
            async with session_factory(backend.engine)() as session, session.begin():
                await revoke_key(session, key_id)
        finally:
            await backend.close()
        console.print(f"API key {key_id} revoked")

    asyncio.run(body())


@users_app.command("add")
def users_add(
    login: str = typer.Argument(..., help="The console login."),
    role: str = typer.Option(..., "--role", callback=_role, help=ROLE_HELP),
    partner: str | None = typer.Option(None, "--partner", help="Partner id or slug (role partner)."),
    language: str = typer.Option("ru", "--language", help="ru, uz or en.", callback=one_of("ru", "uz", "en")),
    password: str = typer.Option(
        ...,
        "--password",
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        envvar="AIMANAGER_NEW_PASSWORD",
        help="At least 8 characters (prompted when not given).",
    ),
) -> None:
    """Add a console login (or reset its password, role and language); the password is kept as an
    Argon2id hash."""
    from aimanager.api.access import add_user
    from aimanager.db.engine import session_factory

    if language not in ("ru", "uz", "en"):
        raise typer.BadParameter("one of ru, uz, en", param_hint="'--language'")

    async def body() -> None:
        backend = await open_backend()
        try:
            async with session_factory(backend.engine)() as session, session.begin():
                user = await add_user(session, login, password, role, partner, language)
                user_id = user.id
        finally:
            await backend.close()
        console.print(f"console user {login} ({role}) saved, id {user_id}")

    asyncio.run(body())


@users_app.command("list")
def users_list() -> None:
    """Console logins (never their password hashes)."""
    from aimanager.api.access import list_users
    from aimanager.db.engine import session_factory

    async def body() -> None:
        backend = await open_backend()
        try:
            async with session_factory(backend.engine)() as session:
                rows = await list_users(session)
        finally:
            await backend.close()
        table = Table("id", "login", "role", "partner", "language", "active", "last login")
        for u in rows:
            last = f"{u.last_login_at:%Y-%m-%d %H:%M}" if u.last_login_at else "never"
            table.add_row(
                str(u.id),
                u.login,
                u.role,
                str(u.partner_id or ""),
                u.language,
                "yes" if u.active else "no",
                last,
            )
        console.print(table)

    asyncio.run(body())
