"""A catalog with photos → checked → vision attributes extracted and reviewed → infographics stored →
uploaded to every marketplace sandbox, which holds images of the right size and format; a second run
generates nothing new. On SQLite and PostgreSQL, against the LLM sandbox (Anthropic SDK, image blocks).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from aimanager.connectors.registry import parse_credentials
from aimanager.db.crypto import CredentialBox, generate_key
from aimanager.db.engine import make_engine
from aimanager.db.models import AIUsageLog, MarketplaceIntegration, Product, TaskRecord
from aimanager.domain.enums import Capability, Marketplace
from aimanager.domain.images import RULES
from aimanager.jobs import SQLBackend, Worker, WorkerConfig
from aimanager.pipelines.capabilities.images import plan_images, store_of
from aimanager.pipelines.registry import pipeline_registry
from aimanager.pipelines.services import image_book
from aimanager.pipelines.services.planner import build_plan, enqueue_plan
from aimanager.pipelines.services.wiring import build_runtime
from aimanager.schema.migrate import upgrade
from aimanager.settings import Settings
from aimanager_lab.environment import SandboxWorld, connect_partners
from aimanager_lab.sample_catalog import generate_catalog, insert_catalog
from tests.images import photos

pytestmark = pytest.mark.slow


@pytest.fixture
def world():  # type: ignore[no-untyped-def]
    w = SandboxWorld(time_scale=0.005).start()
    yield w
    w.stop()


async def drain(rt: Any) -> None:
    await Worker(rt.backend, pipeline_registry(rt), WorkerConfig(concurrency=8)).run(until_idle=True)


async def run_images(rt: Any) -> None:
    await rt.backend.enqueue_many(await plan_images(rt))
    await drain(rt)


def media_of(world: SandboxWorld, market: Marketplace, token: str) -> dict[str, Any]:
    answer = httpx.get(f"{world.url(market.value)}/_sandbox/media", params={"token": token}, timeout=30)
    answer.raise_for_status()
    held: dict[str, Any] = answer.json()
    return held


def upload_uzum_file(world: SandboxWorld, exports: Path, token: str) -> dict[str, Any]:
    """What a seller does with the photo file: upload the newest one in the cabinet."""
    newest = max(exports.rglob("*-uzum-photos.xlsx"), key=lambda p: p.name)
    answer = httpx.post(
        f"{world.url('uzum')}/_sandbox/cabinet/upload",
        params={"token": token},
        files={"file": (newest.name, newest.read_bytes())},
        timeout=60,
    )
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


def store_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*.jpg")}


async def test_catalog_photos_to_every_marketplace(db_url: str, tmp_path: Path, world: SandboxWorld) -> None:
    web = tmp_path / "web"
    mug = photos.save(photos.mug(), web / "p" / "mug.jpg")
    photos.save(photos.mug(size=(640, 800)), web / "p" / "mug-again.png", "PNG")  # same picture, re-encoded
    photos.save(photos.mug(size=(200, 250)), web / "p" / "tiny.jpg")  # too small to use
    photos.save(photos.pack(3), web / "p" / "pack.jpg")
    with photos.serve(web) as base:
        rows = generate_catalog(partners=1, skus=3, seed=7)
        rows[0]["images"] = f"{base}/p/mug.jpg; {base}/p/mug-again.png; {base}/p/tiny.jpg"
        rows[1]["images"] = f"{base}/p/pack.jpg"
        rows[2]["images"] = f"{base}/p/missing.jpg"  # 404: the product cannot get images
        settings = Settings(
            database_url=db_url,
            secret_key_file=tmp_path / "key",
            secret_key=SecretStr(generate_key()),
            media_url=str(web / "media"),
            media_public_url=f"{base}/media",
        )
        engine = make_engine(db_url)
        await upgrade(engine)
        backend = SQLBackend(engine)
        await backend.setup()
        exports = tmp_path / "exports"
        rt = await build_runtime(
            settings,
            backend=backend,
            gateway_config=world.gateway_config(),
            connector_overrides=world.connector_overrides(export_dir=exports),
        )
        box = CredentialBox.from_settings(settings)
        try:
            report = await insert_catalog(rt.sessions, rows)
            assert report.ok, report.errors
            await connect_partners(world, rt.sessions, box)
            await enqueue_plan(rt.backend, await build_plan(rt.sessions, [Capability.CARDS]))
            await drain(rt)  # the cards exist on every marketplace before their images go up

            await run_images(rt)
            async with rt.sessions() as session:
                products = {p.sku: p for p in (await session.execute(select(Product))).scalars()}
                tasks = (
                    await session.execute(select(TaskRecord).where(TaskRecord.capability == "images"))
                ).scalars()
                by_status: dict[str, list[TaskRecord]] = {}
                for t in tasks:
                    by_status.setdefault(t.status, []).append(t)
                vision_rows = (
                    (await session.execute(select(AIUsageLog).where(AIUsageLog.task_kind == "vision")))
                    .scalars()
                    .all()
                )
                integrations = (await session.execute(select(MarketplaceIntegration))).scalars().all()
            good, bad = rows[0]["sku"], rows[2]["sku"]
            assert {t.sku for t in by_status["done"]} == {good, rows[1]["sku"]}
            assert len(by_status["done"]) == 8  # 2 products × 4 marketplaces
            assert {t.sku for t in by_status["failed"]} == {bad}
            assert all("404" in (t.reason or "") for t in by_status["failed"])
            # The vision tier saw each usable photo once, billed by its pixels (a 768-px photo ≈ 800+ tokens).
            assert len(vision_rows) == 2 and all(r.input_tokens > 700 for r in vision_rows)

            tokens = {Marketplace(i.marketplace): box.open(i.credentials_encrypted) for i in integrations}
            keys = {m: parse_credentials(m, c).account_key() for m, c in tokens.items()}
            assert upload_uzum_file(world, exports, keys[Marketplace.UZUM])["ok"]
            for market, rule in RULES.items():
                held = media_of(world, market, keys[market])
                # (Yandex also downloads the catalog URLs the card push sent: the 404 one shows there.)
                assert set(held["problems"]) <= {bad}, (market, held["problems"])
                assert set(held["held"]) == {good, rows[1]["sku"]}, market
                for images in held["held"].values():
                    assert len(images) == 1 + len(rule.languages)
                    assert {(i["width"], i["height"], i["format"]) for i in images} == {
                        (rule.width, rule.height, "JPEG")
                    }

            # Review: the seller gave the colour, so the model's colour is dropped, never written over it;
            # what the seller did not give waits as "extracted".
            store = store_of(rt)
            pending = await image_book.extractions(rt.sessions, store, products[good].partner_id)
            assert pending and all(e.name != "color" for e in pending)
            assert {e.name for e in pending if e.sku == rows[1]["sku"]} >= {"pack_count"}
            pack = next(e for e in pending if e.sku == rows[1]["sku"] and e.name == "pack_count")
            assert pack.value == "3"
            decided = await image_book.decide(
                rt.sessions, store, pack.partner_id, pack.sku, "pack_count", "approved"
            )
            assert decided.status == "approved"
            async with rt.sessions() as session:
                product = (await session.execute(select(Product).where(Product.sku == pack.sku))).scalar_one()
            assert product.attributes["Количество в упаковке"] == "3"
            assert product.attributes["Цвет"] == products[pack.sku].attributes["Цвет"]  # untouched

            # The approved fact is drawn: that product's infographics change and go up again; nothing else.
            before = store_files(web / "media")
            llm_before = world.world.llm_requests()
            await run_images(rt)
            added = store_files(web / "media") - before
            # One product's infographics; WB's and Ozon's are the same bytes (same size and language), so
            # content addressing stores them once.
            assert len(added) == len(
                {(r.width, r.height, lang) for r in RULES.values() for lang in r.languages}
            )
            assert world.world.llm_requests() > llm_before  # its facts changed: the model looks again

            # A second run with nothing changed generates, asks and uploads nothing.
            before, llm_before = store_files(web / "media"), world.world.llm_requests()
            media_before = {m: media_of(world, m, keys[m]) for m in Marketplace}
            await run_images(rt)
            assert store_files(web / "media") == before
            assert world.world.llm_requests() == llm_before
            assert {m: media_of(world, m, keys[m]) for m in Marketplace} == media_before
            assert mug.exists()
        finally:
            await rt.aclose()
            await backend.close()
            await engine.dispose()
