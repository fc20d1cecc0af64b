"""Review mode over the sandboxes: nothing pending is pushed; approving pushes through the normal jobs;
rejecting ends the item and its task; rollback restores the marketplace's previous card and price."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from aimanager.db.models import CardVersion, Listing, Partner, PriceChange, Product, TaskRecord
from aimanager.domain.enums import Capability, Marketplace
from aimanager.pipelines.services.partner_settings import set_values
from aimanager.pipelines.services.review import Filters, choose, pending, reject
from aimanager.pipelines.services.rollback import rollback_card, rollback_price
from aimanager_lab.environment import SandboxWorld
from tests.pipelines import test_incremental as incremental
from tests.pipelines.test_incremental import account_key, run, writes

# The same world and runtime as the incremental tests (one partner, four SKUs on four marketplaces).
world = incremental.world
rt = incremental.rt

pytestmark = pytest.mark.slow
WB = Marketplace.WILDBERRIES


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AIMANAGER_DATABASE_URL": url, "COLUMNS": "250"}
    return subprocess.run(
        [sys.executable, "-m", "aimanager", *args], env=env, capture_output=True, text=True, timeout=120
    )


async def settings(rt: Any, *pairs: str) -> None:
    async with rt.sessions() as session, session.begin():
        partner = (await session.execute(select(Partner))).scalar_one()
        await set_values(session, partner, list(pairs), rt.settings)


async def wb_state(rt: Any, world: SandboxWorld, sku: str) -> Any:
    return world.snapshot(WB, await account_key(rt, WB))[sku]


async def test_review_holds_approve_pushes_reject_ends_and_rollback_restores(
    rt: Any, world: SandboxWorld, tmp_path: Path
) -> None:
    # Day one on autopilot: every card and price goes live.
    await settings(rt, "max_step_pct=100")
    await run(rt, [Capability.CARDS])
    await run(rt, [Capability.PRICING])
    async with rt.sessions() as session:
        product = (await session.execute(select(Product).order_by(Product.id).limit(1))).scalar_one()
        listing = (
            await session.execute(
                select(Listing).where(Listing.product_id == product.id, Listing.marketplace == "wildberries")
            )
        ).scalar_one()
    first = await wb_state(rt, world, product.sku)
    assert first.price == listing.price and first.title

    # Review mode; the product's facts and its WB competitor change.
    await settings(rt, "autopilot.cards=false", "autopilot.prices=false", "large_price_move_pct=1")
    async with rt.sessions() as session, session.begin():
        await session.execute(
            update(Product).where(Product.id == product.id).values(name=product.name + " Pro")
        )
        await session.execute(
            update(Listing)
            .where(Listing.id == listing.id)
            .values(competitor_price=listing.price * Decimal("1.3"))
        )
    before = writes(world)
    await run(rt, [Capability.CARDS])
    await run(rt, [Capability.PRICING])
    # Nothing pending reached a marketplace.
    assert writes(world) == before
    assert await wb_state(rt, world, product.sku) == first
    async with rt.sessions() as session:
        items = await pending(session, Filters())
        tasks = {
            (t.capability, t.marketplace): (t.status, t.reason)
            for t in (
                await session.execute(select(TaskRecord).where(TaskRecord.sku == product.sku))
            ).scalars()
        }
    cards = {i.marketplace: i for i in items if i.capability is Capability.CARDS}
    [price] = [i for i in items if i.capability is Capability.PRICING]
    assert set(cards) == {m.value for m in Marketplace} and price.marketplace == "wildberries"
    assert any(line.startswith("-title:") for line in cards["wildberries"].diff)
    assert any(line.startswith("+title:") and "Pro" in line for line in cards["wildberries"].diff)
    assert re.search(r"→ .* \(\+\d+(\.\d)?%\)", price.summary), price.summary
    assert tasks[("cards", "wildberries")][0] == "skipped" and "approval" in (
        tasks[("cards", "wildberries")][1] or ""
    )
    assert tasks[("pricing", "wildberries")][0] == "skipped"

    # The operator's command: list shows the ids; approve the WB card and the price.
    db = rt.engine.url.render_as_string(hide_password=False)
    listed = cli(db, "review", "list", "--marketplace", "wildberries")
    assert listed.returncode == 0, listed.stderr
    assert cards["wildberries"].ref in listed.stdout and price.ref in listed.stdout
    assert cli(db, "review", "approve").returncode == 2  # nothing named: a usage error
    approved = cli(db, "review", "approve", cards["wildberries"].ref, price.ref, "--by", "tester")
    assert approved.returncode == 0, approved.stderr
    await run(rt, [])  # the worker runs the queued pushes
    now = await wb_state(rt, world, product.sku)
    async with rt.sessions() as session:
        card = await session.get(CardVersion, int(cards["wildberries"].ref[1:]))
        change = await session.get(PriceChange, int(price.ref[1:]))
    assert card.status == "pushed" and now.title == card.content["variant"]["title"] != first.title
    assert change.status == "confirmed" and now.price == change.new_price != first.price

    # Reject the Ozon card: it ends, its task fails with the reason, and it is not written again.
    async with rt.sessions() as session, session.begin():
        chosen = choose(await pending(session, Filters(marketplace=Marketplace.OZON)), [], None, True)
        await reject(session, chosen, "too salesy", "tester")
    calls = world.world.llm_requests()
    await run(rt, [Capability.CARDS])
    assert world.world.llm_requests() == calls
    async with rt.sessions() as session:
        ozon = (
            (
                await session.execute(
                    select(CardVersion)
                    .where(CardVersion.product_id == product.id, CardVersion.marketplace == "ozon")
                    .order_by(CardVersion.version.desc())
                )
            )
            .scalars()
            .first()
        )
        task = (
            await session.execute(
                select(TaskRecord).where(
                    TaskRecord.sku == product.sku,
                    TaskRecord.marketplace == "ozon",
                    TaskRecord.capability == "cards",
                )
            )
        ).scalar_one()
    assert ozon.status == "rejected" and "too salesy" in ozon.validation_errors[-1]
    assert task.status == "failed" and "too salesy" in (task.reason or "")

    # Rollback: the card and the price the marketplace held before come back, as new history.
    async with rt.sessions() as session, session.begin():
        restored = await rollback_card(session, rt.backend, product.partner_id, product.sku, WB, None)
        undo = await rollback_price(session, rt.backend, product.partner_id, product.sku, WB, None)
    await run(rt, [])
    back = await wb_state(rt, world, product.sku)
    assert back.title == first.title and back.price == first.price
    async with rt.sessions() as session:
        restored = await session.get(CardVersion, restored.id)
        undo = await session.get(PriceChange, undo.id)
        live = await session.get(Listing, listing.id)
    assert restored.status == "pushed" and "rollback" in restored.content["reason"]
    assert undo.status == "confirmed" and undo.reason.startswith("rollback")
    assert live.card_version_id == restored.id and live.price == first.price
