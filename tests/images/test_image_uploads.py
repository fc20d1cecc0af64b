"""Where rendered images go when the store has no public URL (Wildberries takes the files; the others
need a URL and say what to set), and card pushes that keep the rendered images instead of putting the
catalog photos back. Against the marketplace and LLM sandboxes, on SQLite (the full path runs on both
dialects in ``test_images_end_to_end``)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select, text, update

from aimanager.connectors.registry import parse_credentials
from aimanager.db.crypto import CredentialBox, generate_key
from aimanager.db.engine import make_engine
from aimanager.db.models import MarketplaceIntegration, Product, TaskRecord
from aimanager.domain.enums import Capability, Marketplace
from aimanager.domain.images import RULES
from aimanager.jobs import SQLBackend
from aimanager.pipelines.services.planner import build_plan, enqueue_plan
from aimanager.pipelines.services.wiring import build_runtime
from aimanager.schema.migrate import upgrade
from aimanager.settings import Settings
from aimanager_lab.environment import SandboxWorld, connect_partners
from aimanager_lab.sample_catalog import generate_catalog, insert_catalog
from tests.images import photos
from tests.images.test_images_end_to_end import drain, media_of, run_images

pytestmark = pytest.mark.slow


@pytest.fixture
def world() -> Iterator[SandboxWorld]:
    w = SandboxWorld(time_scale=0.005).start()
    yield w
    w.stop()


@asynccontextmanager
async def runtime(
    tmp_path: Path, world: SandboxWorld, rows: list[dict[str, Any]], public: str | None
) -> AsyncIterator[tuple[Any, dict[Marketplace, str]]]:
    """A runtime on a fresh SQLite database holding ``rows``, connected to every sandbox; yields it and
    each marketplace's sandbox account key."""
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'images.db'}"
    settings = Settings(
        database_url=db_url,
        secret_key_file=tmp_path / "key",
        secret_key=SecretStr(generate_key()),
        media_url=str(tmp_path / "web" / "media"),
        media_public_url=public,
    )
    engine = make_engine(db_url)
    await upgrade(engine)
    backend = SQLBackend(engine)
    await backend.setup()
    rt = await build_runtime(
        settings,
        backend=backend,
        gateway_config=world.gateway_config(),
        connector_overrides=world.connector_overrides(export_dir=tmp_path / "exports"),
    )
    box = CredentialBox.from_settings(settings)
    try:
        assert (await insert_catalog(rt.sessions, rows)).ok
        await connect_partners(world, rt.sessions, box)
        async with rt.sessions() as session:
            integrations = (await session.execute(select(MarketplaceIntegration))).scalars().all()
        keys = {
            Marketplace(i.marketplace): parse_credentials(
                Marketplace(i.marketplace), box.open(i.credentials_encrypted)
            ).account_key()
            for i in integrations
        }
        await enqueue_plan(rt.backend, await build_plan(rt.sessions, [Capability.CARDS]))
        await drain(rt)
        yield rt, keys
    finally:
        await rt.aclose()
        await backend.close()
        await engine.dispose()


async def image_tasks(rt: Any) -> dict[tuple[str, str], TaskRecord]:
    async with rt.sessions() as session:
        rows = await session.execute(select(TaskRecord).where(TaskRecord.capability == "images"))
        return {(t.marketplace, t.sku): t for t in rows.scalars()}


async def upload_results(rt: Any, market: Marketplace) -> list[dict[str, Any]]:
    async with rt.engine.connect() as conn:
        rows = (
            await conn.execute(text("SELECT payload, result FROM jobs WHERE kind = 'images.upload'"))
        ).all()
    return [json.loads(r) for p, r in rows if r and json.loads(p)["marketplace"] == market.value]


async def test_without_a_public_url_wildberries_gets_the_files_and_the_others_say_what_to_set(
    tmp_path: Path, world: SandboxWorld
) -> None:
    web = tmp_path / "web"
    photos.save(photos.mug(), web / "p" / "mug.jpg")
    photos.save(photos.pack(3), web / "p" / "pack.jpg")
    with photos.serve(web) as base:
        rows = generate_catalog(partners=1, skus=2, seed=11)
        rows[0]["images"], rows[1]["images"] = f"{base}/p/mug.jpg", f"{base}/p/pack.jpg"
        async with runtime(tmp_path, world, rows, public=None) as (rt, keys):
            await run_images(rt)
            tasks = await image_tasks(rt)
            skus = {r["sku"] for r in rows}
            wb = RULES[Marketplace.WILDBERRIES]
            for sku in skus:
                assert tasks[("wildberries", sku)].status == "done", tasks[("wildberries", sku)].reason
                for market in (Marketplace.OZON, Marketplace.YANDEX, Marketplace.UZUM):
                    task = tasks[(market.value, sku)]
                    assert task.status == "needs_input", (market, task.reason)
                    assert "AIMANAGER_MEDIA_PUBLIC_URL" in (task.reason or "")
            held = media_of(world, Marketplace.WILDBERRIES, keys[Marketplace.WILDBERRIES])
            assert set(held["held"]) == skus and not held["problems"]
            for images in held["held"].values():
                # The files themselves (no URL): the clean photo and one infographic in Russian.
                assert len(images) == 1 + len(wb.languages)
                assert all(i["url"].startswith("file:") for i in images)
                assert {(i["width"], i["height"], i["format"]) for i in images} == {
                    (wb.width, wb.height, "JPEG")
                }
            for market in (Marketplace.OZON, Marketplace.YANDEX):
                # Only the catalog photos the card push sent (Yandex downloads them): nothing rendered.
                for images in media_of(world, market, keys[market])["held"].values():
                    assert all(i["url"].startswith(f"{base}/p/") for i in images), (market, images)
            first = await upload_results(rt, Marketplace.WILDBERRIES)
            assert first == [{"sent": 2, "files": 2, "requests": 2 * (1 + len(wb.languages))}]

            # Nothing changed: nothing is sent again.
            await run_images(rt)
            again = await upload_results(rt, Marketplace.WILDBERRIES)
            assert again[-1] == {"sent": 0, "files": 0, "requests": 0}
            assert media_of(world, Marketplace.WILDBERRIES, keys[Marketplace.WILDBERRIES]) == held
            assert (await image_tasks(rt))[("wildberries", rows[0]["sku"])].status == "done"


async def test_a_card_push_after_an_images_upload_keeps_the_rendered_images(
    tmp_path: Path, world: SandboxWorld
) -> None:
    web = tmp_path / "web"
    photos.save(photos.mug(), web / "p" / "mug.jpg")  # 800×1000: Yandex Market wants a square
    with photos.serve(web) as base:
        rows = generate_catalog(partners=1, skus=1, seed=5)
        rows[0]["images"] = f"{base}/p/mug.jpg"
        sku = rows[0]["sku"]
        async with runtime(tmp_path, world, rows, public=f"{base}/media") as (rt, keys):
            await run_images(rt)
            ym = RULES[Marketplace.YANDEX]
            rendered = media_of(world, Marketplace.YANDEX, keys[Marketplace.YANDEX])["held"][sku]
            assert len(rendered) == 1 + len(ym.languages)
            assert all(i["url"].startswith(f"{base}/media/") for i in rendered)

            # The card changes and goes out again: its pictures are the rendered ones, not the photo.
            async with rt.sessions() as session, session.begin():
                await session.execute(
                    update(Product).where(Product.sku == sku).values(name=rows[0]["name"] + ", модель 2")
                )
            await enqueue_plan(rt.backend, await build_plan(rt.sessions, [Capability.CARDS]))
            await drain(rt)
            async with rt.sessions() as session:
                cards = await session.execute(
                    select(TaskRecord.status).where(
                        TaskRecord.capability == "cards", TaskRecord.marketplace == "yandex"
                    )
                )
                assert list(cards.scalars()) == ["done"]
            held = media_of(world, Marketplace.YANDEX, keys[Marketplace.YANDEX])
            assert held["held"][sku] == rendered, held
            assert not held["problems"], held["problems"]
