"""CLI: what happened to the work — ``tasks`` and ``cards`` — and the helpers the operator's other
commands share (``partners_cmd``, ``accounts_cmd``): a partner by id or slug, KEY=VALUE options.

What happened to every task is listed (a table, or ``--format json`` for scripts) and retried here.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from aimanager.cli.app import app, one_of
from aimanager.cli.engine_cmd import open_backend
from aimanager.domain.enums import Capability, Marketplace
from aimanager.errors import ConfigError
from aimanager.pipelines.services.cards_view import list_cards
from aimanager.pipelines.services.task_queries import (
    RETRYABLE,
    TaskFilter,
    count_by_status,
    list_tasks,
    retry_matching,
)

# Piped into a file or a script, rich would cut every table to 80 columns ("defaul…"): lists are data
# there, so they get room; a terminal keeps its own width.
console = Console(width=None if sys.stdout.isatty() else 200)
tasks_app = typer.Typer(help="What happened to each task; retry the failed ones.", no_args_is_help=True)
cards_app = typer.Typer(help="Card versions and their marketplace errors.", no_args_is_help=True)
app.add_typer(tasks_app, name="tasks")
app.add_typer(cards_app, name="cards")
TASK_STATUSES = ("done", "failed", "needs_input", "skipped")
FORMATS = ("table", "json")


def pairs(values: list[str], option: str) -> dict[str, str]:
    """``["k=v", …]`` as a dict; a usage error naming ``option`` for an item without ``=``."""
    out: dict[str, str] = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"expected KEY=VALUE, got {value!r}", param_hint=f"'{option}'")
        out[key.strip()] = item.strip()
    return out


async def partner_id_of(session: Any, ref: str) -> int:
    """A partner by id or slug; ConfigError naming it if there is none."""
    from aimanager.pipelines.services.directory import find_partner

    found = await find_partner(session, ref)
    if found is None:
        raise ConfigError(f"no partner {ref!r} (see `aimanager partners list`)")
    return int(found.id)


def sessions_of(backend: Any) -> Any:
    """A session factory on the backend's engine."""
    from aimanager.db.engine import session_factory

    return session_factory(backend.engine)


# -- tasks -------------------------------------------------------------------------------------------
def _status(value: str | None) -> str | None:
    if value is not None and value not in TASK_STATUSES:
        raise typer.BadParameter(f"one of {', '.join(TASK_STATUSES)}", param_hint="'--status'")
    return value


async def _filter(
    backend: Any,
    partner: str | None,
    capability: Capability | None,
    marketplace: Marketplace | None,
    status: str | None,
) -> TaskFilter:
    """The operator's options as the task service's filter (the partner resolved by id or slug)."""
    partner_ids = None
    if partner is not None:
        async with sessions_of(backend)() as session:
            partner_ids = [await partner_id_of(session, partner)]
    return TaskFilter(
        partner_ids=partner_ids,
        capability=capability,
        marketplace=marketplace.value if marketplace is not None else None,
        status=status,
    )


def _format(value: str) -> str:
    if value not in FORMATS:
        raise typer.BadParameter(f"one of {', '.join(FORMATS)}", param_hint="'--format'")
    return value


@tasks_app.command("list")
def tasks_list(
    partner: str | None = typer.Option(None, "--partner", "-p"),
    capability: Capability | None = typer.Option(None, "--capability", "-c"),
    marketplace: Marketplace | None = typer.Option(None, "--marketplace", "-m"),
    status: str | None = typer.Option(
        None, "--status", "-s", callback=_status, help="done, failed, needs_input, skipped"
    ),
    limit: int = typer.Option(50, "--limit", min=1),
    output: str = typer.Option(
        "table", "--format", callback=_format, help="table, or json: one object with tasks and counts."
    ),
) -> None:
    """The latest outcome of each task (SKU × marketplace × capability), newest first; the counts are
    of every task under the same partner and capability."""

    async def body() -> None:
        backend = await open_backend()
        try:
            f = await _filter(backend, partner, capability, marketplace, status)
            async with sessions_of(backend)() as session:
                rows = await list_tasks(session, f, limit=limit)
                counts = await count_by_status(session, f)
        finally:
            await backend.close()
        if output == "json":
            tasks = [
                {
                    "partner": slug,
                    "capability": task.capability,
                    "marketplace": task.marketplace or None,
                    "sku": task.sku or None,
                    "status": task.status,
                    "reason": task.reason,
                    "job_id": task.job_id,
                    "updated_at": task.updated_at.isoformat(),
                }
                for task, slug in rows
            ]
            typer.echo(json.dumps({"tasks": tasks, "counts": counts}, ensure_ascii=False, indent=1))
            return
        table = Table("partner", "capability", "marketplace", "sku", "status", "reason", "updated")
        for task, slug in rows:
            table.add_row(
                slug,
                task.capability,
                task.marketplace or "—",
                task.sku or "—",
                task.status,
                (task.reason or "")[:160],
                f"{task.updated_at:%Y-%m-%d %H:%M}",
            )
        console.print(table)
        console.print(
            "all tasks: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none yet")
        )

    asyncio.run(body())


@tasks_app.command("retry")
def tasks_retry(
    partner: str | None = typer.Option(None, "--partner", "-p"),
    capability: Capability | None = typer.Option(None, "--capability", "-c"),
    marketplace: Marketplace | None = typer.Option(None, "--marketplace", "-m"),
    status: str = typer.Option(
        "failed", "--status", "-s", callback=one_of(*RETRYABLE), help="failed or needs_input"
    ),
) -> None:
    """Queue the matching tasks again (their SKUs, through `run`'s planning and chaining)."""

    async def body() -> None:
        backend = await open_backend()
        try:
            f = await _filter(backend, partner, capability, marketplace, status)
            result = await retry_matching(sessions_of(backend), backend, f)
        finally:
            await backend.close()
        more = " (more match: run it again for the rest)" if result.more else ""
        console.print(f"{result.matched} {status} task(s): {result.jobs_queued} job(s) queued{more}")

    asyncio.run(body())


# -- cards -------------------------------------------------------------------------------------------
@cards_app.command("list")
def cards_list(
    partner: str | None = typer.Option(None, "--partner", "-p"),
    status: str | None = typer.Option(
        None,
        "--status",
        "-s",
        help="validated, pending_approval, pushed, exported, rejected, needs_input",
        callback=one_of("validated", "pending_approval", "pushed", "exported", "rejected", "needs_input"),
    ),
    limit: int = typer.Option(50, "--limit", min=1),
) -> None:
    """Card versions, newest first, with each marketplace's errors."""

    async def body() -> None:
        backend = await open_backend()
        try:
            async with sessions_of(backend)() as session:
                partner_ids = None if partner is None else [await partner_id_of(session, partner)]
                rows = await list_cards(session, partner_ids, status=status, limit=limit)
        finally:
            await backend.close()
        table = Table("sku", "marketplace", "version", "status", "errors")
        for cv, sku in rows:
            table.add_row(
                sku, cv.marketplace, str(cv.version), cv.status, "; ".join(cv.validation_errors)[:200]
            )
        console.print(table)

    asyncio.run(body())
