"""The analytics report over every connected marketplace, dated in the partner's zone; a partner with
nothing connected is told so (a skipped task), not given a report of zeros."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import select, update

from aimanager.connectors.registry import parse_credentials
from aimanager.db.crypto import CredentialBox
from aimanager.db.engine import make_engine
from aimanager.db.models import AnalyticsReport, Listing, MarketplaceIntegration, Partner, Product, TaskRecord
from aimanager.domain.enums import Marketplace
from aimanager.jobs import JobSpec, SQLBackend, Worker, WorkerConfig
from aimanager.pipelines.capabilities.analytics import NO_ACCOUNT
from aimanager.pipelines.registry import pipeline_registry
from aimanager.pipelines.services.wiring import build_runtime
from aimanager.schema.migrate import upgrade
from aimanager.settings import Settings
from aimanager_lab.environment import SandboxWorld, connect_partners, demo_credentials
from aimanager_lab.sample_catalog import generate_catalog, insert_catalog
from aimanager_sandbox.common.seeding import SeedOffer

# 01:30 on 31 October in Tashkent: the sandboxes' history ends on 31 October 2026.
NOW = datetime(2026, 10, 30, 20, 30, tzinfo=UTC)


async def live_ozon_cards(world: SandboxWorld, sessions: Any, partner_id: int) -> None:
    """The partner's Ozon products as live cards (as after a card push): Ozon books sales only for
    products it has, and the test needs no card run."""
    async with sessions() as session:
        slug = (await session.execute(select(Partner.slug).where(Partner.id == partner_id))).scalar_one()
        rows = (
            await session.execute(
                select(Listing.price, Product)
                .join(Product, Product.id == Listing.product_id)
                .where(Listing.partner_id == partner_id, Listing.marketplace == Marketplace.OZON.value)
            )
        ).all()
    offers = [
        SeedOffer(
            offer_id=p.sku, title=p.name[:60], category=p.category or "", price=price or Decimal(100_000)
        )
        for price, p in rows
    ]
    key = parse_credentials(Marketplace.OZON, demo_credentials(Marketplace.OZON, slug)).account_key()
    await asyncio.to_thread(world.world.seed, Marketplace.OZON, key, offers, existing_cards=True)


@pytest.mark.slow
async def test_every_connected_marketplace_with_its_fees_and_local_dates(db_url: str, tmp_path: Path) -> None:
    world = SandboxWorld(time_scale=0.005).start()
    # A shared database needs the key given (never a key file made on one host).
    key = SecretStr(Fernet.generate_key().decode())
    settings = Settings(database_url=db_url, secret_key_file=tmp_path / "key", secret_key=key)
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
    rt.now = lambda: NOW  # type: ignore[method-assign]
    try:
        assert (await insert_catalog(rt.sessions, generate_catalog(partners=2, skus=6))).ok
        await connect_partners(world, rt.sessions, CredentialBox.from_settings(settings))
        await live_ozon_cards(world, rt.sessions, partner_id=1)
        async with rt.sessions() as session, session.begin():
            await session.execute(
                update(MarketplaceIntegration)
                .where(MarketplaceIntegration.partner_id == 2)
                .values(active=False)
            )
        await rt.backend.enqueue_many([JobSpec("analytics.report", {}, partner_id=p) for p in (1, 2)])
        await Worker(rt.backend, pipeline_registry(rt), WorkerConfig(concurrency=4)).run(until_idle=True)
        # Run again for the same period (a retry, a crash after the commit, a second firing): the
        # report is replaced, never written twice.
        await rt.backend.enqueue_many([JobSpec("analytics.report", {}, partner_id=1)])
        await Worker(rt.backend, pipeline_registry(rt), WorkerConfig(concurrency=4)).run(until_idle=True)
        async with rt.sessions() as session:
            reports = (await session.execute(select(AnalyticsReport))).scalars().all()
            tasks = {t.partner_id: t for t in (await session.execute(select(TaskRecord))).scalars().all()}
    finally:
        await rt.aclose()
        await engine.dispose()
        world.stop()

    [report] = reports  # one per period; partner 2 has no account: no report at all
    assert report.partner_id == 1
    assert report.html_path is not None and report.html_path.endswith("-20261031.html")  # Tashkent's date
    assert Path(report.html_path).is_file()
    # 2..31 October in Tashkent: from 1 October 19:00 UTC to 31 October 19:00 UTC.
    assert report.period_start.replace(tzinfo=UTC) == datetime(2026, 10, 1, 19, 0, tzinfo=UTC)
    assert report.period_end.replace(tzinfo=UTC) == datetime(2026, 10, 31, 19, 0, tzinfo=UTC)
    by_market = {row["marketplace"]: row for row in report.metrics["by_marketplace"]}
    assert set(by_market) == {"uzum", "wildberries", "ozon", "yandex"}
    for market in ("ozon", "yandex"):  # left out / shown fee-free before
        row = by_market[market]
        assert float(row["revenue"]) > 0 and row["units"] > 0, row
        assert float(row["commission"]) > 0 and float(row["logistics"]) > 0, row
    assert report.metrics["timezone"] == "Asia/Tashkent"
    assert "2026-10-02 — 2026-10-31 (Asia/Tashkent)" in Path(report.html_path).read_text(encoding="utf-8")

    assert tasks[1].status == "done"
    assert (tasks[2].status, tasks[2].reason) == ("skipped", NO_ACCOUNT)
