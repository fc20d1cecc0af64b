"""A small catalog through all four capabilities against the sandboxes, on SQLite and PostgreSQL.

Afterwards each sandbox account must hold exactly the cards, prices and stock the database says were
pushed: the database is the record, the sandbox is the marketplace.
"""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from aimanager.connectors.registry import parse_credentials
from aimanager.db.crypto import CredentialBox, generate_key
from aimanager.db.engine import make_engine
from aimanager.db.models import (
    AIUsageLog,
    AnalyticsReport,
    CardVersion,
    Listing,
    MarketplaceIntegration,
    PriceChange,
    Product,
    StockPush,
)
from aimanager.domain.enums import Capability, Marketplace
from aimanager.jobs import SQLBackend, Worker, WorkerConfig
from aimanager.pipelines.registry import pipeline_registry
from aimanager.pipelines.services.planner import build_plan, enqueue_plan
from aimanager.pipelines.services.wiring import build_runtime
from aimanager.schema.migrate import upgrade
from aimanager.settings import Settings
from aimanager_lab.environment import SandboxWorld, connect_partners
from aimanager_lab.sample_catalog import generate_catalog, insert_catalog

pytestmark = pytest.mark.slow


@pytest.fixture
def world():  # type: ignore[no-untyped-def]
    w = SandboxWorld(time_scale=0.005).start()
    yield w
    w.stop()


async def run_capabilities(rt, caps: list[Capability]) -> None:  # type: ignore[no-untyped-def]
    plan = await build_plan(rt.sessions, caps)
    await enqueue_plan(rt.backend, plan)
    await Worker(rt.backend, pipeline_registry(rt), WorkerConfig(concurrency=16)).run(until_idle=True)


async def test_catalog_through_all_capabilities(db_url: str, tmp_path: Path, world: SandboxWorld) -> None:
    # A shared database (PostgreSQL) needs the key given: no key file is ever made for it.
    settings = Settings(database_url=db_url, secret_key_file=tmp_path / "key", secret_key=generate_key())
    engine = make_engine(db_url)
    await upgrade(engine)
    backend = SQLBackend(engine)
    await backend.setup()
    rt = await build_runtime(
        settings,
        backend=backend,
        gateway_config=world.gateway_config(),
        connector_overrides=world.connector_overrides(export_dir=tmp_path / "exports"),
        report_dir=tmp_path / "reports",
    )
    box = CredentialBox.from_settings(settings)
    try:
        report = await insert_catalog(rt.sessions, generate_catalog(partners=2, skus=6))
        assert report.ok, report.errors
        await connect_partners(world, rt.sessions, box)
        await run_capabilities(rt, [Capability.CARDS])
        await run_capabilities(rt, [Capability.PRICING, Capability.STOCK, Capability.ANALYTICS])
        assert rt.progress.failures == []
        assert rt.progress.done == {"cards": 48, "pricing": 48, "stock": 48, "analytics": 2}

        async with rt.sessions() as session:
            integrations = (await session.execute(select(MarketplaceIntegration))).scalars().all()
            listings = (
                await session.execute(
                    select(Listing, Product).join(Product, Product.id == Listing.product_id)
                )
            ).all()
            versions = {cv.id: cv for cv in (await session.execute(select(CardVersion))).scalars().all()}
            pushes = (await session.execute(select(StockPush))).scalars().all()
            confirmed_prices = (
                await session.execute(select(func.count()).where(PriceChange.status == "confirmed"))
            ).scalar()
            reports = (await session.execute(select(AnalyticsReport))).scalars().all()
            ledger_rows = (await session.execute(select(func.count()).select_from(AIUsageLog))).scalar()
        assert confirmed_prices and ledger_rows
        tokens = {
            (i.partner_id, Marketplace(i.marketplace)): box.open(i.credentials_encrypted)
            for i in integrations
        }
        stock_of = {p.listing_id: p for p in pushes}
        for listing, product in listings:
            market = Marketplace(listing.marketplace)
            creds = tokens[(listing.partner_id, market)]
            key = parse_credentials(market, creds).account_key()
            state = world.snapshot(market, key)[product.sku]
            card = versions[listing.card_version_id]
            assert card.status == ("exported" if market is Marketplace.UZUM else "pushed")
            if market is not Marketplace.UZUM:
                assert state.title == card.content["variant"]["title"]
            assert state.price == listing.price, (market, product.sku)
            assert stock_of[listing.id].status == "confirmed"
            assert state.stock == stock_of[listing.id].quantity == listing.stock_pushed
            assert listing.stock_pushed <= product.stock
        # Uzum cards are an XLSX in the cabinet's template, with ru and uz text for every product.
        # (one .xlsx per category; several categories come as a .zip of them)
        books = [load_workbook(f) for f in (tmp_path / "exports").rglob("*.xlsx")]
        for archive in (tmp_path / "exports").rglob("*.zip"):
            with zipfile.ZipFile(archive) as zf:
                books += [load_workbook(io.BytesIO(zf.read(n))) for n in zf.namelist() if n.endswith(".xlsx")]
        assert books
        cells = {str(c.value) for wb in books for ws in wb.worksheets for row in ws.iter_rows() for c in row}
        for listing, _product in listings:
            if listing.marketplace == "uzum":
                variant = versions[listing.card_version_id].content["variant"]
                assert variant["title"] in cells and variant["title_uz"] in cells
        assert len(reports) == 2 and all(Path(r.html_path).exists() for r in reports)
        assert all(Decimal(r.metrics["revenue"]) > 0 for r in reports)
    finally:
        await rt.aclose()
        await backend.close()
        await engine.dispose()


async def test_dry_run_decides_and_records_but_writes_nothing_out(
    sqlite_url: str, tmp_path: Path, world: SandboxWorld
) -> None:
    settings = Settings(database_url=sqlite_url, secret_key_file=tmp_path / "key")
    engine = make_engine(sqlite_url)
    await upgrade(engine)
    backend = SQLBackend(engine)
    rt = await build_runtime(
        settings,
        backend=backend,
        gateway_config=world.gateway_config(),
        connector_overrides=world.connector_overrides(),
        dry_run=True,
        report_dir=tmp_path / "reports",
    )
    box = CredentialBox.from_settings(settings)
    try:
        await insert_catalog(rt.sessions, generate_catalog(partners=1, skus=4))
        await connect_partners(world, rt.sessions, box)
        async with rt.sessions() as session:
            integrations = (await session.execute(select(MarketplaceIntegration))).scalars().all()
        before = {
            Marketplace(i.marketplace): world.snapshot(
                Marketplace(i.marketplace),
                parse_credentials(i.marketplace, box.open(i.credentials_encrypted)).account_key(),
            )
            for i in integrations
        }
        await run_capabilities(rt, [Capability.CARDS])
        await run_capabilities(rt, [Capability.PRICING, Capability.STOCK, Capability.ANALYTICS])
        assert rt.progress.failures == []
        after = {
            Marketplace(i.marketplace): world.snapshot(
                Marketplace(i.marketplace),
                parse_credentials(i.marketplace, box.open(i.credentials_encrypted)).account_key(),
            )
            for i in integrations
        }
        assert after == before  # no card, price or stock reached any marketplace
        async with rt.sessions() as session:
            statuses = set((await session.execute(select(CardVersion.status))).scalars())
            price_statuses = set((await session.execute(select(PriceChange.status))).scalars())
            stock_statuses = set((await session.execute(select(StockPush.status))).scalars())
            report_paths = (await session.execute(select(AnalyticsReport.html_path))).scalars().all()
        assert statuses == {"validated"} and price_statuses == {"planned"} and stock_statuses == {"planned"}
        assert report_paths == [None] and not (tmp_path / "reports").exists()
    finally:
        await rt.aclose()
        await backend.close()
        await engine.dispose()
