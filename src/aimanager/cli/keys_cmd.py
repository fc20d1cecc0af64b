"""CLI: ``aimanager keys generate|rotate`` — the key that seals marketplace credentials at rest.

On a shared database (PostgreSQL) every host must use the same ``AIMANAGER_SECRET_KEY``;
``require_secret_key`` is what ``init`` and ``worker`` call to refuse to start without it (one line,
exit 2) instead of making a host-local key that no other host can read.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import typer

from aimanager.cli.app import app
from aimanager.cli.engine_cmd import open_backend
from aimanager.cli.operator_cmd import console, sessions_of
from aimanager.db.crypto import (
    CredentialBox,
    Sealed,
    generate_key,
    reencrypt_all,
    sealed_columns,
    shared_key_problem,
)
from aimanager.errors import ConfigError
from aimanager.settings import get_settings

keys_app = typer.Typer(
    help="The credential encryption key: generate one, rotate to a new one.", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")


def require_secret_key() -> None:
    """Exit 2 with one line when the database is shared and AIMANAGER_SECRET_KEY is not set."""
    problem = shared_key_problem(get_settings())
    if problem is not None:
        typer.secho(f"error: {problem}", err=True, fg="red")
        raise SystemExit(2)


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a fresh key (set it as AIMANAGER_SECRET_KEY on every host)."""
    typer.echo(generate_key())


def _new_key(env: str | None, file: Path | None) -> CredentialBox:
    if (env is None) == (file is None):
        raise typer.BadParameter("give exactly one of --new-key-env VAR or --new-key-file PATH")
    if env is not None:
        value = os.environ.get(env, "").strip()
        if not value:
            raise typer.BadParameter(f"environment variable {env} is not set", param_hint="'--new-key-env'")
        hint = "'--new-key-env'"
    else:
        assert file is not None
        if not file.is_file():
            raise typer.BadParameter(f"{file}: no such file", param_hint="'--new-key-file'")
        value = file.read_text().strip()
        hint = "'--new-key-file'"
    try:
        return CredentialBox(value.encode())
    except ConfigError:
        raise typer.BadParameter(
            "not a valid key (make one with `aimanager keys generate`)", param_hint=hint
        ) from None


def _tables() -> list[Sealed]:
    from aimanager.alerts.tables import AlertChannel

    return [*sealed_columns(), (AlertChannel, "secrets_encrypted", "alert channel")]


@keys_app.command("rotate")
def keys_rotate(
    new_key_env: str | None = typer.Option(
        None, "--new-key-env", metavar="VAR", help="Environment variable holding the new key."
    ),
    new_key_file: Path | None = typer.Option(
        None, "--new-key-file", metavar="PATH", help="File holding the new key."
    ),
) -> None:
    """Re-encrypt every stored secret with a new key, in one transaction, checked to read back.

    Then give every host the new key (AIMANAGER_SECRET_KEY) and restart the workers. In embedded mode
    with a key file (no AIMANAGER_SECRET_KEY) the key file is replaced."""
    new = _new_key(new_key_env, new_key_file)
    settings = get_settings()
    require_secret_key()
    value = (
        os.environ[new_key_env].strip()
        if new_key_env is not None
        else (new_key_file.read_text().strip() if new_key_file else "")
    )

    async def body() -> int:
        old = CredentialBox.from_settings(settings)
        backend = await open_backend()
        try:
            async with sessions_of(backend)() as session, session.begin():
                return await reencrypt_all(session, old, new, _tables())
        finally:
            await backend.close()

    count = asyncio.run(body())
    console.print(f"re-encrypted {count} secret(s) with the new key; every one reads back")
    if settings.secret_key is None:
        from aimanager.db.crypto import write_key_file

        write_key_file(Path(settings.secret_key_file), value)
        console.print(f"key file {settings.secret_key_file} now holds the new key")
    else:
        console.print(
            "now set AIMANAGER_SECRET_KEY to the new key on every host and restart the workers",
            markup=False,
        )
