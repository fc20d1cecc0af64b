"""Images in a run: planned only for products with a photo that can be fetched (the sample catalog's
placeholder URLs are not), at low priority, after the partner's cards."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, update

from aimanager.db.engine import make_engine, session_factory
from aimanager.db.models import MarketplaceIntegration, Partner, Product
from aimanager.domain.enums import Capability, Marketplace
from aimanager.domain.images import fetchable
from aimanager.jobs import MemoryBackend, Priority
from aimanager.pipelines.services.planner import build_plan
from aimanager.pipelines.services.runs import start_run
from aimanager.schema.migrate import upgrade
from aimanager_lab.sample_catalog import generate_catalog, insert_catalog


@pytest.mark.parametrize(
    ("source", "ok"),
    [
        ("http://127.0.0.1:8000/p/1.jpg", True),
        ("https://cdn.shop.uz/a/1.jpg", True),
        ("http://localhost/1.jpg", True),
        ("/srv/photos/1.jpg", True),
        ("file:///srv/photos/1.jpg", True),
        ("photos/1.jpg", True),  # relative to the worker's directory; a missing file fails its task
        ("https://img.sample.aimanager.local/acme/A-1/1.jpg", False),  # the sample catalog's
        ("https://img.example/e2e/1/1.jpg", False),
        ("https://example.com/1.jpg", False),
        ("https://www.example.org/1.jpg", False),
        ("https://shop.test/1.jpg", False),
        ("https://x.invalid/1.jpg", False),
        ("ftp://files.shop.uz/1.jpg", False),
        ("https:///1.jpg", False),
        ("", False),
    ],
)
def test_which_photo_sources_can_be_fetched(source: str, ok: bool) -> None:
    assert fetchable(source) is ok


async def test_images_are_planned_for_fetchable_photos_only_and_wait_for_cards(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'plan.db'}")
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        rows = generate_catalog(partners=2, skus=3, seed=3)
        assert (await insert_catalog(sessions, rows)).ok
        async with sessions() as session, session.begin():
            partners = (await session.execute(select(Partner.id).order_by(Partner.id))).scalars().all()
            session.add_all(
                MarketplaceIntegration(partner_id=p, marketplace=m.value, credentials_encrypted=b"-")
                for p in partners
                for m in Marketplace
            )
        # The sample catalog's photos are placeholders: a run with every capability plans no images,
        # and says why.
        everything = await build_plan(sessions, list(Capability))
        assert "images" not in everything.tasks
        assert not [s for s in everything.specs if s.kind == "images.prepare"]
        assert any("images: 6 product(s)" in s for s in everything.skipped), everything.skipped

        # Two products get real photos (one on a loopback host, one a file): only they are planned.
        real = {rows[0]["sku"]: ["http://127.0.0.1:9/a.jpg"], rows[4]["sku"]: ["/srv/photos/b.jpg"]}
        async with sessions() as session, session.begin():
            for sku, images in real.items():
                await session.execute(update(Product).where(Product.sku == sku).values(images=images))
            ids = dict((await session.execute(select(Product.sku, Product.id))).all())
        plan = await build_plan(sessions, [Capability.IMAGES])
        specs = [s for s in plan.specs if s.kind == "images.prepare"]
        assert sorted(i for s in specs for i in s.payload["product_ids"]) == sorted(ids[s] for s in real)
        assert plan.tasks["images"] == 2 * 4  # each product on four marketplaces
        assert {s.priority for s in specs} == {Priority.LOW}  # images are the lowest-priority work
        assert any("images: 4 product(s)" in s for s in plan.skipped)
        urgent = await build_plan(
            sessions, [Capability.IMAGES], skus=[rows[0]["sku"]], priority=Priority.HIGH
        )
        assert [s.priority for s in urgent.specs] == [Priority.HIGH]

        # In a run, a partner's images wait for its cards (uploads need the card on the marketplace).
        backend = MemoryBackend()
        run = await start_run(sessions, backend, [Capability.CARDS, Capability.IMAGES])
        assert run.queued["cards"] > 0 and run.waiting["images"] == 8
        assert run.followup_job_ids and not run.queued["images"]
        # Without card work in flight, images are queued at once.
        alone = await start_run(sessions, MemoryBackend(), [Capability.IMAGES])
        assert alone.queued["images"] == 8 and not alone.followup_job_ids
    finally:
        await engine.dispose()
