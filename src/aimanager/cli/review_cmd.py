"""CLI: ``aimanager review`` (cards and price moves waiting for approval) and ``aimanager rollback``.

``review list`` shows each pending item with a diff against what is live; ``review approve`` /
``review reject`` act on named items (``c12``, ``p7``), a random ``--sample N``, or ``--all`` matching
the filters. Approved items are pushed by the normal jobs (a worker runs them). ``rollback card`` /
``rollback price`` put the previous card or price back on the marketplace the same way.
"""

from __future__ import annotations

import asyncio
import getpass
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from aimanager.cli.app import app, one_of
from aimanager.cli.engine_cmd import open_backend
from aimanager.domain.enums import Capability, Marketplace

console = Console()
review_app = typer.Typer(help="AI output waiting for approval: list, approve, reject.", no_args_is_help=True)
rollback_app = typer.Typer(
    help="Put a card's or price's previous version back on a marketplace.", no_args_is_help=True
)
app.add_typer(review_app, name="review")
app.add_typer(rollback_app, name="rollback")

_CAPS = {"cards": Capability.CARDS, "prices": Capability.PRICING, "pricing": Capability.PRICING}


def _sessions(backend: Any) -> Any:
    from aimanager.db.engine import session_factory

    return session_factory(backend.engine)


def _capability(value: str | None) -> Capability | None:
    if value is None:
        return None
    if value not in _CAPS:
        raise typer.BadParameter("cards or prices", param_hint="'--capability'")
    return _CAPS[value]


async def _filters(
    session: Any, partner: str | None, capability: str | None, market: Marketplace | None
) -> Any:
    from aimanager.pipelines.services.partner_settings import find_partner
    from aimanager.pipelines.services.review import Filters

    pid = (await find_partner(session, partner)).id if partner is not None else None
    return Filters(partner_id=pid, capability=_capability(capability), marketplace=market)


@review_app.command("list")
def review_list(
    partner: str | None = typer.Option(None, "--partner", "-p"),
    capability: str | None = typer.Option(
        None, "--capability", "-c", help="cards or prices", callback=one_of("cards", "prices")
    ),
    marketplace: Marketplace | None = typer.Option(None, "--marketplace", "-m"),
    limit: int = typer.Option(50, "--limit", min=1),
    diff: bool = typer.Option(True, "--diff/--no-diff", help="Show each card's diff against the live one."),
) -> None:
    """Cards and price moves waiting for approval, with what would change."""
    from aimanager.pipelines.services.review import pending

    _capability(capability)

    async def body() -> list[Any]:
        backend = await open_backend()
        try:
            async with _sessions(backend)() as session:
                return await pending(session, await _filters(session, partner, capability, marketplace))
        finally:
            await backend.close()

    items = asyncio.run(body())
    table = Table("id", "partner", "capability", "marketplace", "sku", "change")
    for item in items[:limit]:
        table.add_row(item.ref, item.partner, item.capability.value, item.marketplace, item.sku, item.summary)
    console.print(table)
    if diff:
        for item in items[:limit]:
            if item.capability is Capability.CARDS and item.diff:
                console.print(f"[bold]{item.ref}[/bold] {item.sku}@{item.marketplace}")
                for line in item.diff:
                    style = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
                    console.print(line, style=style, markup=False, highlight=False)
    console.print(
        f"{len(items)} waiting for approval" + (f" (first {limit} shown)" if len(items) > limit else "")
    )


def _decide(
    refs: list[str],
    partner: str | None,
    capability: str | None,
    marketplace: Marketplace | None,
    sample: int | None,
    everything: bool,
    act: Any,
) -> int:
    from aimanager.pipelines.services.review import choose, pending

    if refs and (sample is not None or everything):
        raise typer.BadParameter("give ids, or --sample N, or --all — not both")
    if not refs and sample is None and not everything:
        raise typer.BadParameter("name the items (c12 p7 …), or --sample N, or --all")
    bad = [r for r in refs if len(r) < 2 or r[0] not in "cp" or not r[1:].isdigit()]
    if bad:
        raise typer.BadParameter(f"not an item id: {', '.join(bad)} (ids look like c12 or p7)")
    _capability(capability)

    async def body() -> int:
        backend = await open_backend()
        try:
            async with _sessions(backend)() as session, session.begin():
                items = await pending(session, await _filters(session, partner, capability, marketplace))
                chosen = choose(items, refs, sample, everything)
                await act(session, backend, chosen)
                return len(chosen)
        finally:
            await backend.close()

    return asyncio.run(body())


@review_app.command("approve")
def review_approve(
    refs: list[str] = typer.Argument(None, help="Item ids from `review list` (c12 p7 …)."),
    partner: str | None = typer.Option(None, "--partner", "-p"),
    capability: str | None = typer.Option(
        None, "--capability", "-c", help="cards or prices", callback=one_of("cards", "prices")
    ),
    marketplace: Marketplace | None = typer.Option(None, "--marketplace", "-m"),
    sample: int | None = typer.Option(None, "--sample", min=1, help="A random N of the matching items."),
    everything: bool = typer.Option(False, "--all", help="Every matching item."),
    by: str = typer.Option(getpass.getuser(), "--by", help="Who approves (kept with the item)."),
) -> None:
    """Approve items: their pushes are queued (a worker sends them)."""
    from aimanager.pipelines.services.review import approve

    jobs: list[int] = []

    async def act(session: Any, backend: Any, chosen: list[Any]) -> None:
        jobs.append(await approve(session, backend, chosen, by))

    n = _decide(refs or [], partner, capability, marketplace, sample, everything, act)
    console.print(f"approved {n} item(s); {sum(jobs)} push job(s) queued")


@review_app.command("reject")
def review_reject(
    refs: list[str] = typer.Argument(None, help="Item ids from `review list` (c12 p7 …)."),
    reason: str = typer.Option(..., "--reason", "-r", help="Why (kept with the item and its task)."),
    partner: str | None = typer.Option(None, "--partner", "-p"),
    capability: str | None = typer.Option(
        None, "--capability", "-c", help="cards or prices", callback=one_of("cards", "prices")
    ),
    marketplace: Marketplace | None = typer.Option(None, "--marketplace", "-m"),
    sample: int | None = typer.Option(None, "--sample", min=1, help="A random N of the matching items."),
    everything: bool = typer.Option(False, "--all", help="Every matching item."),
    by: str = typer.Option(getpass.getuser(), "--by", help="Who rejects (kept with the item)."),
) -> None:
    """Reject items: nothing is pushed; their tasks fail with the reason."""
    from aimanager.pipelines.services.review import reject

    if not reason.strip():
        raise typer.BadParameter("say why", param_hint="'--reason'")

    async def act(session: Any, backend: Any, chosen: list[Any]) -> None:
        await reject(session, chosen, reason.strip(), by)

    n = _decide(refs or [], partner, capability, marketplace, sample, everything, act)
    console.print(f"rejected {n} item(s)")


def _rollback(partner: str, sku: str, marketplace: Marketplace, target: int | None, kind: str) -> Any:
    from aimanager.pipelines.services.partner_settings import find_partner
    from aimanager.pipelines.services.rollback import rollback_card, rollback_price

    async def body() -> Any:
        backend = await open_backend()
        try:
            async with _sessions(backend)() as session, session.begin():
                pid = (await find_partner(session, partner)).id
                fn = rollback_card if kind == "card" else rollback_price
                return await fn(session, backend, pid, sku, marketplace, target)
        finally:
            await backend.close()

    return asyncio.run(body())


@rollback_app.command("card")
def rollback_card_cmd(
    partner: str = typer.Argument(..., help="Partner slug or id."),
    sku: str = typer.Argument(...),
    marketplace: Marketplace = typer.Argument(...),
    to_version: int | None = typer.Option(None, "--to-version", min=1, help="Default: the card live before."),
) -> None:
    """Push the previous card (or version N) again, as a new version with reason "rollback"."""
    row = _rollback(partner, sku, marketplace, to_version, "card")
    console.print(
        f"{sku}@{marketplace.value}: version {row.version} ({row.content['reason']}) queued for push"
    )


@rollback_app.command("price")
def rollback_price_cmd(
    partner: str = typer.Argument(..., help="Partner slug or id."),
    sku: str = typer.Argument(...),
    marketplace: Marketplace = typer.Argument(...),
    to_change: int | None = typer.Option(
        None, "--to-change", min=1, help="Default: the price before the last change."
    ),
) -> None:
    """Push the previous price again, as a new price change with reason "rollback"."""
    row = _rollback(partner, sku, marketplace, to_change, "price")
    console.print(f"{sku}@{marketplace.value}: {row.reason}; queued for push")
