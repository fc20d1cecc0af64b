"""CLI: ``aimanager images review list|approve|reject`` — attributes the vision tier read off product
photos, waiting for a person (``pipelines.services.image_book``).

An item is named ``SKU:attribute`` (as ``list`` shows it). Approving writes the attribute into the
product's catalog facts, never over one the seller gave (then it ends rejected and says so); the next
images run draws it on the infographics, the next cards run uses it. Images themselves are queued by
``aimanager run -c images`` and run by workers like any work; their tasks show in ``tasks list``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from aimanager.cli.app import app, one_of
from aimanager.cli.engine_cmd import open_backend

console = Console()
images_app = typer.Typer(help="Product images: review what the vision model read.", no_args_is_help=True)
review_app = typer.Typer(
    help="Attributes read off product photos, waiting for review: list, approve, reject.",
    no_args_is_help=True,
)
images_app.add_typer(review_app, name="review")
app.add_typer(images_app, name="images")

STATUSES = ("extracted", "approved", "rejected", "all")


def _ref(value: str) -> tuple[str, str]:
    sku, sep, name = value.rpartition(":")
    if not sep or not sku or not name:
        raise typer.BadParameter(f"not an item: {value!r} (items look like SKU:attribute)")
    return sku, name


async def _items(backend: Any, partner: str | None, status: str | None) -> list[Any]:
    """The extractions of one partner (slug or id) or of every partner, in the given status."""
    from sqlalchemy import select

    from aimanager.db.engine import session_factory
    from aimanager.db.models import Partner
    from aimanager.media.store import open_store
    from aimanager.pipelines.services.image_book import extractions
    from aimanager.pipelines.services.partner_settings import find_partner
    from aimanager.settings import get_settings

    sessions = session_factory(backend.engine)
    async with sessions() as session:
        if partner is not None:
            ids = [(await find_partner(session, partner)).id]
        else:
            ids = list((await session.execute(select(Partner.id).order_by(Partner.id))).scalars())
    settings = get_settings()
    store = open_store(settings.media_url, settings.media_public_url)
    try:
        return [item for pid in ids for item in await extractions(sessions, store, pid, status)]
    finally:
        await store.close()


@review_app.command("list")
def review_list(
    partner: str | None = typer.Option(None, "--partner", "-p"),
    status: str = typer.Option(
        "extracted",
        "--status",
        "-s",
        callback=one_of(*STATUSES),
        help="extracted (waiting), approved, rejected or all.",
    ),
    output: str = typer.Option("table", "--format", callback=one_of("table", "json"), help="table or json."),
) -> None:
    """Attributes read off product photos: product, attribute, value, the model's confidence."""

    async def body() -> list[Any]:
        backend = await open_backend()
        try:
            return await _items(backend, partner, None if status == "all" else status)
        finally:
            await backend.close()

    items = asyncio.run(body())
    if output == "json":
        rows = [
            {
                "item": f"{i.sku}:{i.name}",
                "partner_id": i.partner_id,
                "sku": i.sku,
                "attribute": i.name,
                "value": i.value,
                "confidence": i.confidence,
                "status": i.status,
            }
            for i in items
        ]
        typer.echo(json.dumps({"items": rows}, ensure_ascii=False, indent=1))
        return
    table = Table("item", "partner", "sku", "attribute", "value", "confidence", "status")
    for i in items:
        confidence = f"{i.confidence:.2f}" if i.confidence else "—"
        table.add_row(f"{i.sku}:{i.name}", str(i.partner_id), i.sku, i.name, i.value, confidence, i.status)
    console.print(table)
    console.print(f"{len(items)} item(s)" + (" waiting for review" if status == "extracted" else ""))


def _decide(refs: list[str], partner: str | None, everything: bool, decision: str) -> list[Any]:
    from aimanager.db.engine import session_factory
    from aimanager.errors import PipelineError
    from aimanager.media.store import open_store
    from aimanager.pipelines.services.image_book import decide
    from aimanager.settings import get_settings

    if refs and everything:
        raise typer.BadParameter("give items, or --all — not both")
    if not refs and not everything:
        raise typer.BadParameter("name the items (SKU:attribute …), or --all")
    wanted = [_ref(r) for r in refs]

    async def body() -> list[Any]:
        backend = await open_backend()
        settings = get_settings()
        store = open_store(settings.media_url, settings.media_public_url)
        try:
            waiting = await _items(backend, partner, "extracted")
            chosen = waiting if everything else []
            for sku, name in wanted:
                found = [i for i in waiting if i.sku == sku and i.name == name]
                if not found:
                    raise PipelineError(f"{sku}:{name} is not waiting for review (see `images review list`)")
                if len({i.partner_id for i in found}) > 1:
                    raise PipelineError(f"{sku} belongs to several partners: give --partner")
                chosen.append(found[0])
            sessions = session_factory(backend.engine)
            return [await decide(sessions, store, i.partner_id, i.sku, i.name, decision) for i in chosen]
        finally:
            await store.close()
            await backend.close()

    return asyncio.run(body())


@review_app.command("approve")
def review_approve(
    refs: list[str] = typer.Argument(None, help="Items from `images review list` (SKU:attribute …)."),
    partner: str | None = typer.Option(None, "--partner", "-p"),
    everything: bool = typer.Option(False, "--all", help="Every item waiting (of the partner, if given)."),
) -> None:
    """Approve items: each becomes a catalog fact (never over the seller's); the next images run draws it."""
    done = _decide(refs or [], partner, everything, "approved")
    kept = [d for d in done if d.status == "approved"]
    for d in done:
        if d.status != "approved":
            console.print(f"{d.sku}:{d.name}: the seller has given this fact since; theirs stands (rejected)")
    console.print(f"approved {len(kept)} item(s); `aimanager run -c images` draws them")


@review_app.command("reject")
def review_reject(
    refs: list[str] = typer.Argument(None, help="Items from `images review list` (SKU:attribute …)."),
    partner: str | None = typer.Option(None, "--partner", "-p"),
    everything: bool = typer.Option(False, "--all", help="Every item waiting (of the partner, if given)."),
) -> None:
    """Reject items: the value is never used; a different reading of a later photo asks again."""
    done = _decide(refs or [], partner, everything, "rejected")
    console.print(f"rejected {len(done)} item(s)")
