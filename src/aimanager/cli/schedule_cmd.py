"""CLI: ``aimanager schedule`` — capabilities on a period, fired by the workers themselves."""

from __future__ import annotations

import asyncio
import enum
from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.table import Table

from aimanager.cli.app import app
from aimanager.cli.engine_cmd import open_backend
from aimanager.domain.enums import Capability

console = Console()
schedule_app = typer.Typer(
    help="Run capabilities on a period (stock every 10m, reports daily).", no_args_is_help=True
)
app.add_typer(schedule_app, name="schedule")


def _every(value: str) -> float:
    from aimanager.pipelines.services.schedules import parse_every

    try:
        return parse_every(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--every'") from None


class Scheduled(enum.StrEnum):
    """What a schedule runs: a capability, or order intake (which moves stock between syncs)."""

    cards = Capability.CARDS.value
    pricing = Capability.PRICING.value
    stock = Capability.STOCK.value
    analytics = Capability.ANALYTICS.value
    orders = "orders"


@schedule_app.command("set")
def schedule_set(
    what: Scheduled = typer.Argument(..., help="cards, pricing, stock, analytics, or orders (order intake)."),
    every: str = typer.Option(..., "--every", help="10m, 30m, 6h, 1d …"),
    partner: int | None = typer.Option(
        None, "--partner", "-p", min=1, help="One partner (default: every partner)."
    ),
) -> None:
    """Run a capability (or order intake) every period; any running worker fires it, once per period."""
    from aimanager.pipelines.services.schedules import set_capability_schedule, set_orders_schedule

    seconds = _every(every)

    async def body() -> str:
        backend = await open_backend()
        try:
            if what is Scheduled.orders:
                return await set_orders_schedule(backend, seconds, partner_id=partner)
            return await set_capability_schedule(backend, Capability(what.value), seconds, partner_id=partner)
        finally:
            await backend.close()

    name = asyncio.run(body())
    console.print(f"schedule {name}: {what.value} every {every.strip()} (workers fire it)")


@schedule_app.command("list")
def schedule_list() -> None:
    """Schedules with their next firing."""

    async def body() -> None:
        backend = await open_backend()
        try:
            schedules = await backend.list_schedules()
        finally:
            await backend.close()
        table = Table("name", "job", "every", "next", "fired", "last")
        for s in schedules:

            def when(t: float | None) -> str:
                return "—" if t is None else f"{datetime.fromtimestamp(t, UTC):%Y-%m-%d %H:%M:%S} UTC"

            table.add_row(
                s.name,
                s.job.kind,
                f"{s.every_s / 60:g} min",
                when(s.next_at),
                str(s.fired),
                when(s.last_fired_at),
            )
        console.print(table)
        if not schedules:
            console.print("no schedules (see `aimanager schedule set --help`)")

    asyncio.run(body())


@schedule_app.command("remove")
def schedule_remove(
    name: str = typer.Argument(..., help="As `schedule list` shows it, e.g. all:stock."),
) -> None:
    """Stop a schedule."""

    async def body() -> bool:
        backend = await open_backend()
        try:
            return await backend.remove_schedule(name)
        finally:
            await backend.close()

    if not asyncio.run(body()):
        typer.secho(f"error: no schedule {name!r} (see `aimanager schedule list`)", err=True, fg="red")
        raise typer.Exit(1)
    console.print(f"schedule {name} removed")
