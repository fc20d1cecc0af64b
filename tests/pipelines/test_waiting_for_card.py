"""Pricing and stock against a Wildberries sandbox on loopback: a listing whose card is not on the
marketplace yet waits for it (nothing sent, its tasks skipped naming the card's state) and is priced
once the card lands; each marketplace call is recorded on the account (a success, or the call's
error); the partner's stock buffer factor sizes the buffers; and a price push cut off before its
outcome was recorded is settled by reading WB's prices back, never by sending it again."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import select

from aimanager.connectors.registry import parse_credentials
from aimanager.db.crypto import CredentialBox
from aimanager.db.engine import make_engine
from aimanager.db.models import (
    CardVersion,
    Listing,
    MarketplaceIntegration,
    Partner,
    PriceChange,
    Product,
    StockPush,
    TaskRecord,
)
from aimanager.domain.enums import Marketplace
from aimanager.errors import ConnectorError
from aimanager.jobs import JobSpec, SQLBackend
from aimanager.pipelines.capabilities import pricing, stock
from aimanager.pipelines.services.accounts import save_account
from aimanager.pipelines.services.partner_settings import set_values
from aimanager.pipelines.services.runtime import Runtime
from aimanager.pipelines.services.wiring import build_runtime
from aimanager.schema.migrate import upgrade
from aimanager.settings import Settings
from aimanager_lab.environment import demo_credentials
from aimanager_sandbox import wildberries
from aimanager_sandbox.common.seeding import SeedOffer, seed_catalog
from tests.connectors.conftest import SCALE, Running, start

WB = Marketplace.WILDBERRIES
SKUS = ("LIVE-1", "NOCARD-2", "NEVER-3")  # card pushed before us · card needs input · never carded


@pytest.fixture
def wb() -> Iterator[Running]:
    yield from start(wildberries.create_app)


@pytest.fixture
async def rt(wb: Running, tmp_path: Path) -> AsyncIterator[Runtime]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'wb.db'}"
    engine = make_engine(url)
    await upgrade(engine)
    backend = SQLBackend(engine)
    await backend.setup()
    settings = Settings(
        database_url=url, secret_key=SecretStr(Fernet.generate_key().decode()), secret_key_file=tmp_path / "k"
    )
    runtime = await build_runtime(settings, backend=backend)
    async with runtime.sessions() as session, session.begin():
        partner = Partner(slug="acme", name="Acme Savdo")
        session.add(partner)
        await session.flush()
        for sku in SKUS:
            product = Product(
                partner_id=partner.id,
                sku=sku,
                name=f"Футболка {sku}",
                brand="Lumo",
                category="Футболки",
                cost_price=Decimal(150_000),
                stock=100,
            )
            session.add(product)
            await session.flush()
            session.add(
                Listing(
                    partner_id=partner.id,
                    product_id=product.id,
                    marketplace=WB.value,
                    price=Decimal(200_000),
                    commission_pct=Decimal(12),
                    logistics_cost=Decimal(8_000),
                    min_margin_pct=Decimal(10),
                    external_id="700001" if sku == "LIVE-1" else None,  # the import's wb_id column
                )
            )
        creds = demo_credentials(WB, "acme")
        key = parse_credentials(WB, creds).account_key()
        # The seller's account holds a live card for every SKU (so a push that should not happen
        # would succeed and show), with two weeks of sales, ~20 a day per SKU (the buffers' velocity).
        offers = [SeedOffer(s, f"Футболка {s}", "Футболки", Decimal(200_000), stock=7) for s in SKUS]
        seeded = seed_catalog(
            WB, wb.app, key, offers, existing_cards=True, history_days=14, orders_per_day=60
        )
        await save_account(
            session,
            CredentialBox.from_settings(settings),
            partner_id=partner.id,
            marketplace=WB,
            credentials=creds,
            settings={**seeded, "base_url": wb.url, "time_scale": SCALE, "poll_interval": 2.0},
        )
    runtime.test_key = key  # type: ignore[attr-defined]
    yield runtime
    await runtime.aclose()
    await backend.close()
    await engine.dispose()


async def job(rt: Runtime, kind: str, **payload: Any) -> Any:
    await rt.backend.enqueue_many([JobSpec(kind, payload, partner_id=1)])
    [claimed] = await rt.backend.claim("w", 1, lease_s=60, kinds=[kind])
    return claimed


async def needs_input_card(rt: Runtime, sku: str) -> int:
    """What ``cards.generate`` leaves for a product missing a fact: a needs-input version and task."""
    async with rt.sessions() as session, session.begin():
        product = (await session.execute(select(Product).where(Product.sku == sku))).scalar_one()
        cv = CardVersion(
            partner_id=1,
            product_id=product.id,
            marketplace=WB.value,
            version=1,
            content={},
            status="needs_input",
            validation_errors=["needs input: Бренд"],
        )
        session.add(cv)
        session.add(
            TaskRecord(
                partner_id=1,
                capability="cards",
                marketplace=WB.value,
                sku=sku,
                status="needs_input",
                reason="needs input: Бренд",
            )
        )
        await session.flush()
        return cv.id


async def tasks(rt: Runtime, capability: str) -> dict[str, TaskRecord]:
    async with rt.sessions() as session:
        rows = (
            await session.execute(select(TaskRecord).where(TaskRecord.capability == capability))
        ).scalars()
        return {t.sku: t for t in rows}


async def integration(rt: Runtime) -> MarketplaceIntegration:
    async with rt.sessions() as session:
        row: MarketplaceIntegration = (await session.execute(select(MarketplaceIntegration))).scalar_one()
        return row


def wb_state(wb: Running, rt: Runtime) -> Any:
    return wb.app.state.sandbox.account(rt.test_key)  # type: ignore[attr-defined]


async def test_price_and_stock_wait_for_a_card_that_is_not_live_then_follow_it(
    rt: Runtime, wb: Running
) -> None:
    cv_id = await needs_input_card(rt, "NOCARD-2")
    acc = wb_state(wb, rt)
    seeded = {sku: (acc.price_of(sku), acc.stock_of(sku)) for sku in SKUS}
    await pricing.apply(rt, await job(rt, "pricing.apply", marketplace=WB.value))
    await stock.sync(rt, await job(rt, "stock.sync"))

    for capability in ("pricing", "stock"):
        got = await tasks(rt, capability)
        waiting = got["NOCARD-2"]
        assert waiting.status == "skipped", (capability, waiting.status, waiting.reason)
        assert waiting.reason == "waiting for its card (needs input: Бренд)"
        # A card pushed before us (the import's id) and a product we never began a card for are the
        # marketplace's to judge: pushed, and WB took them.
        assert got["LIVE-1"].status == got["NEVER-3"].status == "done", capability
    async with rt.sessions() as session:
        changed = {
            p.sku
            for p in (
                await session.execute(
                    select(Product).join(Listing).join(PriceChange, PriceChange.listing_id == Listing.id)
                )
            ).scalars()
        }
        stocked = {
            p.sku
            for p in (
                await session.execute(
                    select(Product).join(Listing).join(StockPush, StockPush.listing_id == Listing.id)
                )
            ).scalars()
        }
    assert changed == stocked == {"LIVE-1", "NEVER-3"}
    # Nothing reached WB for it: its seeded price and stock stand; the others' changed.
    assert (acc.price_of("NOCARD-2"), acc.stock_of("NOCARD-2")) == seeded["NOCARD-2"]
    for sku in ("LIVE-1", "NEVER-3"):
        assert acc.price_of(sku) != seeded[sku][0] and acc.stock_of(sku) != seeded[sku][1], sku
    health = await integration(rt)
    assert health.last_success_at is not None and health.last_error is None

    # The card lands (a confirmed push): the next pricing run prices it like any other listing.
    async with rt.sessions() as session, session.begin():
        listing = (
            await session.execute(select(Listing).join(Product).where(Product.sku == "NOCARD-2"))
        ).scalar_one()
        (await session.get(CardVersion, cv_id)).status = "pushed"  # type: ignore[union-attr]
        listing.card_version_id = cv_id
    await pricing.apply(rt, await job(rt, "pricing.apply", marketplace=WB.value))
    after = (await tasks(rt, "pricing"))["NOCARD-2"]
    assert after.status == "done", after.reason
    assert acc.price_of("NOCARD-2") != seeded["NOCARD-2"][0]


async def test_a_call_that_fails_marks_the_account_and_a_good_one_clears_it(rt: Runtime, wb: Running) -> None:
    config = wb.app.state.sandbox.config
    config.valid_tokens = {"someone-else"}  # WB now refuses the account's token: 401 on every call
    with pytest.raises(ConnectorError):
        await pricing.apply(rt, await job(rt, "pricing.apply", marketplace=WB.value))
    failing = await integration(rt)
    assert failing.last_error_at is not None and failing.last_success_at is None
    assert "401" in (failing.last_error or "") and rt.test_key not in (failing.last_error or "")  # type: ignore[attr-defined]

    config.valid_tokens = None
    await stock.sync(rt, await job(rt, "stock.sync"))
    healthy = await integration(rt)
    assert healthy.last_success_at is not None and healthy.last_success_at > healthy.last_error_at  # type: ignore[operator]


async def test_the_partners_stock_buffer_factor_sizes_the_buffer(rt: Runtime) -> None:
    async def buffer_after_sync(factor: str) -> int:
        async with rt.sessions() as session, session.begin():
            partner = (await session.execute(select(Partner))).scalar_one()
            await set_values(session, partner, [f"stock_buffer_factor={factor}"], rt.settings)
        await stock.sync(rt, await job(rt, "stock.sync", product_ids=[1]))
        async with rt.sessions() as session:
            last = (
                await session.execute(select(StockPush).order_by(StockPush.id.desc()).limit(1))
            ).scalar_one()
        assert last.status == "confirmed", last.error
        return last.buffer

    # ~19 sales a day on WB, 15 minutes from a push to the storefront: 0.2 units expected meanwhile.
    low = await buffer_after_sync("1")
    high = await buffer_after_sync("10")
    assert low >= 1 and high > low, (low, high)


async def test_a_wb_price_push_cut_off_before_its_record_is_read_back_not_sent_again(
    rt: Runtime, wb: Running
) -> None:
    sandbox = wb.app.state.sandbox
    real = rt.price_pushes.push

    async def push_then_die(key: Any, updates: Any) -> Any:
        await real(key, updates)  # WB has the prices now …
        raise RuntimeError("worker killed")  # … and the worker dies before it records them

    rt.price_pushes.push = push_then_die  # type: ignore[method-assign,assignment]
    with pytest.raises(RuntimeError, match="worker killed"):
        await pricing.apply(rt, await job(rt, "pricing.apply", marketplace=WB.value))
    rt.price_pushes.push = real  # type: ignore[method-assign]
    uploads = sandbox.count(path="/api/v2/upload/task")
    reads = sandbox.count(path="/api/v2/list/goods/filter")
    assert uploads > 0

    await pricing.apply(rt, await job(rt, "pricing.apply", marketplace=WB.value))
    # Read back (one goods-list call) and recorded: nothing was uploaded again.
    assert sandbox.count(path="/api/v2/list/goods/filter") == reads + 1
    assert sandbox.count(path="/api/v2/upload/task") == uploads
    acc = wb_state(wb, rt)
    async with rt.sessions() as session:
        rows = (
            await session.execute(
                select(PriceChange, Listing, Product)
                .join(Listing, Listing.id == PriceChange.listing_id)
                .join(Product, Product.id == Listing.product_id)
            )
        ).all()
    assert rows and {c.status for c, _, _ in rows} == {"confirmed"}
    for change, listing, product in rows:
        base, discount = acc.price_of(product.sku)
        assert listing.price == change.new_price
        assert Decimal(base) * (100 - discount) / 100 == change.new_price.quantize(Decimal(1))
