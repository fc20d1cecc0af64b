"""A local world for the demo, the end-to-end tests and the scenario benchmark.

Starts the LLM sandbox and the four marketplace sandboxes on loopback, gives every partner an
integration per marketplace (credentials encrypted at rest like real ones), and seeds each sandbox
account with the partner's catalog and order history. Product code only sees base URLs.
"""

from __future__ import annotations

import asyncio
import zlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aimanager.connectors.registry import parse_credentials
from aimanager.db.crypto import CredentialBox
from aimanager.db.models import Listing, Partner, Product
from aimanager.domain.enums import Capability, Marketplace
from aimanager.jobs import Backend, Priority
from aimanager.llm import GatewayConfig
from aimanager.pipelines.services.accounts import save_account
from aimanager.pipelines.services.runs import RunStarted, start_run
from aimanager.settings import Settings
from aimanager_sandbox.common.seeding import SeedOffer
from aimanager_sandbox.common.snapshot import OfferState
from aimanager_sandbox.remote_world import RemoteWorld


@dataclass
class SandboxWorld:
    """The five sandboxes, running in a child process (``aimanager_sandbox.world``).

    Out of process on purpose: on a 2-core machine, sandboxes in the product's own process compete
    with it for the GIL, and the marketplaces are remote services in real life anyway.
    """

    time_scale: float
    llm_error_rate: float = 0.0
    market_error_rate: float = 0.0
    llm_ttft: tuple[float, float] = (0.5, 1.0)  # time to first token, sandbox seconds
    llm_tps: tuple[float, float] = (100.0, 200.0)  # output tokens per second
    llm_rpm: int = 4000
    llm_otpm: int = 800_000
    remote: RemoteWorld | None = None

    def start(self) -> SandboxWorld:
        """Start the sandbox process; returns self."""
        self.remote = RemoteWorld.start(
            time_scale=self.time_scale,
            llm_error_rate=self.llm_error_rate,
            market_error_rate=self.market_error_rate,
            llm_rpm=self.llm_rpm,
            llm_otpm=self.llm_otpm,
            llm_ttft_min_s=self.llm_ttft[0],
            llm_ttft_max_s=self.llm_ttft[1],
            llm_tps_min=self.llm_tps[0],
            llm_tps_max=self.llm_tps[1],
        )
        return self

    def stop(self) -> None:
        """Stop the sandbox process."""
        if self.remote is not None:
            self.remote.stop()

    @property
    def world(self) -> RemoteWorld:
        if self.remote is None:
            raise RuntimeError("the sandbox world is not started")
        return self.remote

    def url(self, name: str) -> str:
        return self.world.url(name)

    def product_settings(self, settings: Settings) -> Settings:
        """``settings`` as an operator sets them to use the LLM sandbox: the variables
        ``AIMANAGER_LLM_PROVIDER=anthropic``, ``AIMANAGER_ANTHROPIC_API_KEY`` and
        ``AIMANAGER_ANTHROPIC_BASE_URL``, read by the product as it reads them in production."""
        return settings.model_copy(
            update={
                "llm_provider": "anthropic",
                "anthropic_api_key": SecretStr("sk-ant-sandbox"),
                "anthropic_base_url": self.url("llm"),
            }
        )

    def gateway_config(self, **overrides: Any) -> GatewayConfig:
        """The gateway pointed at the LLM sandbox through the official Anthropic SDK, built directly
        (tests, and the original design's emulation, which is not the product's configuration)."""
        values: dict[str, Any] = {
            "provider": "anthropic",
            "anthropic_api_key": "sk-ant-sandbox",
            "anthropic_base_url": self.url("llm"),
            "concurrency_max": 2048,
        }
        values.update(overrides)
        return GatewayConfig(**values)

    def connector_overrides(self, export_dir: Path | None = None) -> dict[Marketplace, dict[str, Any]]:
        """Base URL and clock of each marketplace sandbox, for the connector pool; ``export_dir``: where
        Uzum's card exports go (the only connector that writes files)."""
        overrides: dict[Marketplace, dict[str, Any]] = {
            m: {"base_url": self.url(m.value), "settings": {"time_scale": self.time_scale}}
            for m in Marketplace
        }
        if export_dir is not None:
            overrides[Marketplace.UZUM]["settings"]["export_dir"] = str(export_dir)
        return overrides

    def snapshot(self, market: Marketplace, token: str) -> dict[str, OfferState]:
        """What the sandbox account holds per offer."""
        return self.world.snapshot(market, token)


def demo_credentials(market: Marketplace, slug: str) -> dict[str, str]:
    """Per-account sandbox credentials in each marketplace's shape."""
    token = f"sandbox-{slug}-{market.value}"
    if market is Marketplace.OZON:
        return {"client_id": str(zlib.crc32(slug.encode()) % 10**6), "api_key": token}
    if market is Marketplace.YANDEX:
        return {"api_key": token}
    return {"token": token}


async def connect_partners(
    world: SandboxWorld, sessions: async_sessionmaker[AsyncSession], box: CredentialBox
) -> int:
    """Seed each partner's sandbox accounts and save them through the product's account service
    (``save_account``: validated, credentials sealed); returns the integrations newly made."""
    async with sessions() as session:
        partners = (await session.execute(select(Partner))).scalars().all()
        rows = (
            await session.execute(
                select(Listing.partner_id, Listing.marketplace, Listing.price, Product).join(
                    Product, Product.id == Listing.product_id
                )
            )
        ).all()
    offers: dict[tuple[int, Marketplace], list[SeedOffer]] = defaultdict(list)
    for partner_id, market, price, product in rows:
        offers[(partner_id, Marketplace(market))].append(
            SeedOffer(
                offer_id=product.sku,
                title=product.name[:60],
                category=product.category or "",
                price=price or Decimal(100_000),
                barcode=product.barcode,
                stock=product.stock,
            )
        )
    made = 0
    async with sessions() as session, session.begin():
        for partner in partners:
            for market in Marketplace:
                batch = offers.get((partner.id, market))
                if not batch:
                    continue
                creds = demo_credentials(market, partner.slug)
                settings = await asyncio.to_thread(
                    world.world.seed,
                    market,
                    parse_credentials(market, creds).account_key(),
                    batch,
                    existing_cards=market is Marketplace.UZUM,
                )
                # Where the account lives and how fast its clock runs are account settings, as a
                # proxy's URL would be for an operator: the product needs no override to reach it.
                settings = {**settings, "base_url": world.url(market.value), "time_scale": world.time_scale}
                saved = await save_account(
                    session,
                    box,
                    partner_id=partner.id,
                    marketplace=market,
                    credentials=creds,
                    settings=settings,
                )
                made += saved.created
    return made


async def urgent_repricings(
    sessions: async_sessionmaker[AsyncSession],
    backend: Backend,
    count: int,
    *,
    every_s: float,
    poll_s: float,
    on_run: Callable[[RunStarted], None],
) -> None:
    """An operator's urgent single-SKU repricings of the first ``count`` SKUs, one every ``every_s``,
    each started as ``aimanager run -c pricing --sku X --priority urgent`` starts it (it waits for
    its partner's cards like any follow-up); ``on_run`` hears what each request queued."""
    async with sessions() as session:
        skus = list((await session.execute(select(Product.sku).order_by(Product.id).limit(count))).scalars())
    for sku in skus:
        await asyncio.sleep(every_s)
        run = await start_run(
            sessions, backend, [Capability.PRICING], skus=[sku], priority=Priority.URGENT, poll_s=poll_s
        )
        on_run(run)


async def run_until_drained(worker: Any, backend: Any, producers: list[asyncio.Task[Any]]) -> None:
    """Run ``worker`` while ``producers`` add work, then until the queue is empty.

    (``Worker.run(until_idle=True)`` alone could stop in a lull between two producer requests and
    leave them waiting for the next worker.)
    """
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.gather(*producers)
        while True:
            stats = await backend.stats()
            if not stats.by_status.get("queued") and not stats.by_status.get("running"):
                break
            await asyncio.sleep(0.2)
    finally:
        worker.stop()
        await task
