"""The planner's batch keys: per partner, marketplace and capability; one key per SKU request."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from aimanager.db.engine import make_engine, session_factory
from aimanager.db.models import MarketplaceIntegration, Partner
from aimanager.domain.enums import Capability, Marketplace
from aimanager.jobs import Priority
from aimanager.pipelines.services.planner import build_plan
from aimanager.schema.migrate import upgrade
from aimanager_lab.sample_catalog import generate_catalog, insert_catalog


async def test_a_sku_request_is_one_batch_key_and_the_backlog_one_per_marketplace(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'plan.db'}")
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        catalog = generate_catalog(partners=2, skus=3)
        report = await insert_catalog(sessions, catalog)
        assert report.ok, report.errors
        async with sessions() as session, session.begin():
            partners = (await session.execute(select(Partner.id))).scalars().all()
            session.add_all(
                MarketplaceIntegration(partner_id=p, marketplace=m.value, credentials_encrypted=b"-")
                for p in partners
                for m in Marketplace
            )
        caps = [Capability.PRICING, Capability.STOCK]
        backlog = await build_plan(sessions, caps)
        pricing_keys = {s.batch_key for s in backlog.specs if s.kind == "pricing.apply"}
        assert len(pricing_keys) == 2 * 4  # partner × marketplace
        sku = catalog[0]["sku"]
        request = await build_plan(sessions, caps, skus=[sku], priority=Priority.URGENT)
        assert len(request.specs) == 4 + 1  # pricing on each marketplace, one stock job
        # One claim starts the whole request rather than one claim per marketplace.
        assert len({s.batch_key for s in request.specs}) == 1
        assert all(s.priority is Priority.URGENT for s in request.specs)
    finally:
        await engine.dispose()
