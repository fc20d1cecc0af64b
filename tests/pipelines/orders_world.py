"""Helpers of the order tests: a partner connected to the four sandboxes, and their order desks.

``OrderDesks`` drives each sandbox's buyers over its operator endpoints (``/_sandbox/orders/*``,
``aimanager_sandbox.common.orders``): the sandboxes run in a process of their own (``SandboxWorld``).
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import select, update

from aimanager.connectors.registry import parse_credentials
from aimanager.db.crypto import CredentialBox
from aimanager.db.engine import make_engine
from aimanager.db.models import Listing, Partner, Product
from aimanager.domain.enums import Marketplace
from aimanager.jobs import JobSpec, Priority, SQLBackend, Worker, WorkerConfig
from aimanager.pipelines.registry import pipeline_registry
from aimanager.pipelines.services.accounts import save_account
from aimanager.pipelines.services.runtime import Runtime
from aimanager.pipelines.services.wiring import build_runtime
from aimanager.schema.migrate import upgrade
from aimanager.settings import Settings
from aimanager_lab.environment import SandboxWorld, demo_credentials
from aimanager_lab.sample_catalog import generate_catalog, insert_catalog
from aimanager_sandbox.common.seeding import SeedOffer


async def connected_partner(
    db_url: str, tmp_path: Path, world: SandboxWorld, *, skus: int, stock: int
) -> tuple[Runtime, dict[Marketplace, str]]:
    """One partner with ``skus`` SKUs of ``stock`` units each, its cards live on all four sandboxes
    (so stock can be pushed without a card run); returns the runtime and each account's key."""
    # A shared database needs the key in the environment's place (every host the same one).
    settings = Settings(
        database_url=db_url,
        secret_key_file=tmp_path / "key",
        secret_key=SecretStr(Fernet.generate_key().decode()),
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
        report_dir=tmp_path / "reports",
    )
    box = CredentialBox.from_settings(settings)
    report = await insert_catalog(rt.sessions, generate_catalog(partners=1, skus=skus))
    assert report.ok, report.errors
    keys: dict[Marketplace, str] = {}
    async with rt.sessions() as session, session.begin():
        await session.execute(update(Product).values(stock=stock))
        partner = (await session.execute(select(Partner))).scalar_one()
        rows = (
            await session.execute(select(Listing, Product).join(Product, Product.id == Listing.product_id))
        ).all()
        for market in Marketplace:
            offers = [
                SeedOffer(
                    offer_id=p.sku,
                    title=p.name[:60],
                    category=p.category or "",
                    price=li.price or Decimal(100_000),
                    stock=0,
                )
                for li, p in rows
                if li.marketplace == market.value
            ]
            creds = demo_credentials(market, partner.slug)
            keys[market] = parse_credentials(market, creds).account_key()
            seeded = await asyncio.to_thread(
                world.world.seed, market, keys[market], offers, existing_cards=True
            )
            await save_account(
                session,
                box,
                partner_id=partner.id,
                marketplace=market,
                credentials=creds,
                settings={**seeded, "base_url": world.url(market.value), "time_scale": world.time_scale},
            )
    return rt, keys


async def run_job(rt: Runtime, kind: str, partner_id: int = 1, **payload: Any) -> None:
    """Queue one job and work until the queue is empty (jobs it queues included)."""
    await rt.backend.enqueue_many([JobSpec(kind, payload, partner_id=partner_id, priority=Priority.HIGH)])
    await drain(rt)


async def drain(rt: Runtime) -> None:
    await Worker(rt.backend, pipeline_registry(rt), WorkerConfig(concurrency=8)).run(until_idle=True)


class OrderDesks:
    """The buyers of each marketplace sandbox, for one partner's accounts."""

    def __init__(self, world: SandboxWorld, keys: dict[Marketplace, str]) -> None:
        self.world = world
        self.keys = keys
        self.client = httpx.AsyncClient(timeout=30)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _post(self, market: Marketplace, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = await self.client.post(f"{self.world.url(market.value)}/_sandbox/orders{path}", json=body)
        answer.raise_for_status()
        return answer.json()  # type: ignore[no-any-return]

    async def place(self, market: Marketplace, offer: str, quantity: int = 1) -> dict[str, Any]:
        return await self._post(
            market, "/place", {"token": self.keys[market], "offer_id": offer, "quantity": quantity}
        )

    async def settle(self, market: Marketplace, order_id: int, status: str) -> dict[str, Any]:
        body = {"token": self.keys[market], "order_id": order_id, "status": status}
        return await self._post(market, "/settle", body)

    async def flow(self, market: Marketplace, **flow: Any) -> dict[str, Any]:
        return await self._post(market, "/flow", flow)

    async def book(self, market: Marketplace) -> dict[str, Any]:
        answer = await self.client.get(
            f"{self.world.url(market.value)}/_sandbox/orders", params={"token": self.keys[market]}
        )
        answer.raise_for_status()
        return answer.json()  # type: ignore[no-any-return]

    def shown(self, market: Marketplace) -> dict[str, int | None]:
        return {offer: s.stock for offer, s in self.world.snapshot(market, self.keys[market]).items()}


def now_s() -> float:
    return time.monotonic()
