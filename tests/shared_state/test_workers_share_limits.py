"""Three ``aimanager worker`` processes on PostgreSQL + Redis push prices for the same seller accounts
at once, against the marketplace sandboxes (which enforce each account's documented limits and count
what they refuse): with Redis they stay within every account's limit — no 429 is caused by our own
concurrency — and every price lands. Without Redis (the control), the same run overruns the limits:
the sandboxes do catch what the shared limits prevent.

The work is single-SKU urgent repricings, one job each, so that every worker holds jobs of every
account at the same moment. WB (10 uploads per 6 s, each followed by status reads under the same
limit) and Uzum (one call per SKU, 4 writes a second) are the tight ones.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import select

from aimanager.connectors.registry import parse_credentials
from aimanager.db.crypto import CredentialBox
from aimanager.db.engine import make_engine, session_factory
from aimanager.db.models import Listing, MarketplaceIntegration, Partner, Product
from aimanager.domain.enums import Marketplace
from aimanager.jobs import JobSpec, Priority, SQLBackend
from aimanager.pipelines.services.accounts import save_account
from aimanager.schema.migrate import upgrade
from aimanager.settings import Settings
from aimanager_lab.environment import SandboxWorld, demo_credentials
from aimanager_lab.sample_catalog import generate_catalog, insert_catalog
from aimanager_sandbox.common.seeding import SeedOffer

pytestmark = [pytest.mark.slow, pytest.mark.long]

SCALE = 0.5  # a WB "6 s" price window is 3 s of wall time; Uzum takes 8 writes a wall second
MARKETS = (Marketplace.WILDBERRIES, Marketplace.UZUM)
WORKERS = 3
SKUS = 40  # one seller, 40 single-SKU repricings on each of its two accounts


@pytest.fixture
def world() -> Iterator[SandboxWorld]:
    w = SandboxWorld(time_scale=SCALE).start()
    try:
        yield w
    finally:
        w.stop()


async def connect_sellers(world: SandboxWorld, sessions: Any, box: CredentialBox) -> None:
    """Each partner's accounts, seeded with its cards already on the marketplace (sellers with a
    catalog there, being repriced) and saved through the product's account service."""
    async with sessions() as session, session.begin():
        partners = (await session.execute(select(Partner))).scalars().all()
        for partner in partners:
            for market in MARKETS:
                rows = (
                    (
                        await session.execute(
                            select(Product)
                            .join(Listing, Listing.product_id == Product.id)
                            .where(Listing.partner_id == partner.id, Listing.marketplace == market.value)
                        )
                    )
                    .scalars()
                    .all()
                )
                offers = [
                    SeedOffer(p.sku, p.name[:60], p.category or "", Decimal(100_000), p.barcode, p.stock)
                    for p in rows
                ]
                creds = demo_credentials(market, partner.slug)
                key = parse_credentials(market, creds).account_key()
                extra = await asyncio.to_thread(world.world.seed, market, key, offers, existing_cards=True)
                settings = {**extra, "base_url": world.url(market.value), "time_scale": SCALE}
                await save_account(
                    session,
                    box,
                    partner_id=partner.id,
                    marketplace=market,
                    credentials=creds,
                    settings=settings,
                )


def _workers(tmp_path: Path, env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(
            [sys.executable, "-m", "aimanager", "worker", "--until-idle", "--concurrency", "8"],
            cwd=tmp_path,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(WORKERS)
    ]


@pytest.mark.parametrize("shared", [True, False], ids=["redis", "control-without-redis"])
async def test_workers_on_many_hosts_stay_within_each_accounts_limits(
    shared: bool, pg_url: str, redis_url: str, tmp_path: Path, world: SandboxWorld
) -> None:
    secret = Fernet.generate_key().decode()  # every host of a shared database needs the same key
    settings = Settings(database_url=pg_url, secret_key=SecretStr(secret))
    engine = make_engine(pg_url)
    await upgrade(engine)
    backend = SQLBackend(engine)
    await backend.setup()
    sessions = session_factory(engine)
    box = CredentialBox.from_settings(settings)
    try:
        catalog = generate_catalog(partners=1, skus=SKUS, marketplaces=MARKETS)
        assert (await insert_catalog(sessions, catalog)).ok
        await connect_sellers(world, sessions, box)
        async with sessions() as session:
            listings = (
                (
                    await session.execute(
                        select(Listing).where(Listing.marketplace.in_([m.value for m in MARKETS]))
                    )
                )
                .scalars()
                .all()
            )
        specs = [
            JobSpec(
                "pricing.apply",
                {"marketplace": listing.marketplace, "listing_ids": [listing.id]},
                partner_id=listing.partner_id,
                priority=Priority.URGENT,
                # One batch key per listing: fairness rotates over them, so every worker claims jobs
                # of every account instead of one worker taking an account's whole batch.
                batch_key=f"pricing.apply:l{listing.id}",
            )
            for listing in listings
        ]
        assert len(specs) == SKUS * len(MARKETS)
        await backend.enqueue_many(specs)

        env = {
            "AIMANAGER_DATABASE_URL": pg_url,
            "AIMANAGER_SECRET_KEY": secret,
            "AIMANAGER_LOG_LEVEL": "WARNING",
        }
        if shared:
            env["AIMANAGER_REDIS_URL"] = redis_url
        else:
            os.environ.pop("AIMANAGER_REDIS_URL", None)
        procs = _workers(tmp_path, env)
        try:
            codes = [p.wait(timeout=300) for p in procs]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        errors = [p.stderr.read().decode()[-3000:] if p.stderr else "" for p in procs]
        assert codes == [0] * WORKERS, errors

        stats = {m: world.world.stats(m.value) for m in MARKETS}
        assert all(s["requests"] > 0 for s in stats.values())
        rejected = {m.value: s["rejections"] for m, s in stats.items()}
        if not shared:
            assert sum(rejected.values()) > 0, stats  # the control: the sandboxes catch an overrun
            return
        assert rejected == {m.value: 0 for m in MARKETS}, stats

        counts = await backend.stats()
        assert counts.by_status == {"succeeded": len(specs)}, counts.by_status
        # The database is the record: each sandbox account holds the price the database says it has.
        async with sessions() as session:
            rows = (
                await session.execute(
                    select(Listing, Product)
                    .join(Product, Product.id == Listing.product_id)
                    .where(Listing.marketplace.in_([m.value for m in MARKETS]))
                )
            ).all()
            integrations = (await session.execute(select(MarketplaceIntegration))).scalars().all()
        keys = {
            (i.partner_id, i.marketplace): parse_credentials(
                i.marketplace, box.open(i.credentials_encrypted)
            ).account_key()
            for i in integrations
        }
        for listing, product in rows:
            state = world.snapshot(
                Marketplace(listing.marketplace), keys[(listing.partner_id, listing.marketplace)]
            )
            assert state[product.sku].price == listing.price, (listing.marketplace, product.sku)
    finally:
        await backend.close()
        await engine.dispose()
