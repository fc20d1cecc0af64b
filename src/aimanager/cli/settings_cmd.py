"""CLI: ``aimanager settings`` — per-partner settings (margin, price bounds, buffers, autopilot …).

``settings show [PARTNER]`` lists every key with its effective value and where it comes from (the
built-in default, the operator's ``AIMANAGER_PARTNER_DEFAULTS``, or the partner); ``settings set
PARTNER key=value …`` and ``settings unset PARTNER key …`` change one partner. A bad key or value is a
usage error: one line naming the key, exit 2, nothing stored.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from aimanager.cli.app import app
from aimanager.cli.engine_cmd import open_backend

if TYPE_CHECKING:
    from aimanager.settings import Settings

console = Console()
settings_app = typer.Typer(
    help="Per-partner settings: margin, price bounds, buffers, AI budget, autopilot, languages.",
    no_args_is_help=True,
)
app.add_typer(settings_app, name="settings")


def _sessions(backend: Any) -> Any:
    from aimanager.db.engine import session_factory

    return session_factory(backend.engine)


def _usage(exc: Exception) -> typer.BadParameter:
    return typer.BadParameter(str(exc).removeprefix("setting "))


@settings_app.command("show")
def settings_show(
    partner: str | None = typer.Argument(None, help="Partner slug or id (default: the operator defaults)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object of the effective values."),
) -> None:
    """Every setting with its effective value and its source."""
    from aimanager.pipelines.services.partner_settings import SettingsInvalid, describe, find_partner
    from aimanager.settings import get_settings

    async def body() -> list[Any]:
        backend = await open_backend()
        try:
            async with _sessions(backend)() as session:
                row = await find_partner(session, partner) if partner is not None else None
                return describe(row, get_settings())
        finally:
            await backend.close()

    try:
        shown = asyncio.run(body())
    except SettingsInvalid as exc:
        raise _usage(exc) from None
    if as_json:
        console.print_json(json.dumps({s.key: s.value for s in shown}))
        return
    table = Table(
        "key", "value", "source", title=f"settings of {partner}" if partner else "operator defaults"
    )
    for s in shown:
        value = ",".join(s.value) if isinstance(s.value, list) else "—" if s.value is None else str(s.value)
        table.add_row(s.key, value, s.source)
    console.print(table)


def _change(partner: str, change: Callable[[Any, Any, Settings], Awaitable[object]]) -> str:
    """Apply ``change(session, partner_row, settings)`` in one transaction; the partner's slug. A value
    or key the settings refuse is a usage error (one line, exit 2), and nothing is stored."""
    from aimanager.pipelines.services.partner_settings import SettingsInvalid, find_partner
    from aimanager.settings import get_settings

    async def body() -> str:
        backend = await open_backend()
        try:
            async with _sessions(backend)() as session, session.begin():
                row = await find_partner(session, partner)
                await change(session, row, get_settings())
                return row.slug
        finally:
            await backend.close()

    try:
        return asyncio.run(body())
    except SettingsInvalid as exc:
        raise _usage(exc) from None


@settings_app.command("set")
def settings_set(
    partner: str = typer.Argument(..., help="Partner slug or id."),
    assignments: list[str] = typer.Argument(..., help="key=value … (e.g. autopilot.cards=false)"),
) -> None:
    """Change some of a partner's settings (all checked together; nothing is stored if one is bad)."""
    from aimanager.pipelines.services.partner_settings import set_values

    slug = _change(partner, lambda session, row, settings: set_values(session, row, assignments, settings))
    keys = ", ".join(a.partition("=")[0].strip() for a in assignments)
    console.print(f"partner {slug}: set {keys}")


@settings_app.command("unset")
def settings_unset(
    partner: str = typer.Argument(..., help="Partner slug or id."),
    keys: list[str] = typer.Argument(..., help="Keys whose operator default should apply again."),
) -> None:
    """Drop a partner's own values (the operator default applies again)."""
    from aimanager.pipelines.services.partner_settings import unset_values

    slug = _change(partner, lambda session, row, settings: unset_values(session, row, keys, settings))
    console.print(f"partner {slug}: unset {', '.join(keys)}")
