"""The services a pipeline handler runs with: database, job backend, LLM gateway, connectors.

One ``Runtime`` per process. Handlers receive it through closures built in ``registry.py``; nothing in
the pipelines reaches for globals, so tests and the demo wire their own (sandbox URLs, time scale).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aimanager.connectors.base import Connector, PriceUpdate, PushReport
from aimanager.connectors.ratelimit import LimitStore
from aimanager.connectors.registry import make_connector, parse_account
from aimanager.connectors.uzum.export import export_folder
from aimanager.db.crypto import CredentialBox
from aimanager.db.models import MarketplaceIntegration, Partner
from aimanager.domain.enums import Marketplace
from aimanager.errors import ConfigError
from aimanager.jobs import Backend
from aimanager.llm import Gateway
from aimanager.pipelines.services.group_push import GroupPush
from aimanager.pipelines.services.orders import OrderFeeds
from aimanager.pipelines.services.progress import Progress
from aimanager.settings import Settings
from aimanager.shared_state import RedisHandle, SharedLocks, SharedMemo

T = TypeVar("T")


async def load_by_id(session: AsyncSession, model: Any, ids: Iterable[int]) -> dict[int, Any]:
    """Rows of ``model`` by primary key, fetched in one query.

    The returned dict holds them: a session's identity map keeps only weak references, so rows loaded
    "to warm the session" and not held are gone before the next ``session.get``.
    """
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = (await session.execute(select(model).where(model.id.in_(wanted)))).scalars()
    return {row.id: row for row in rows}


async def cooperatively(items: Iterable[T], every: int = 25) -> AsyncIterator[T]:
    """``items``, yielding the event loop every ``every`` of them.

    A handler's per-item loop (a partner's catalog of Decimal pricing, stock allocation, building
    card pushes) is milliseconds of CPU; run through in one go it holds up every other task of the
    worker, urgent claims and heartbeats included."""
    for i, item in enumerate(items):
        if i % every == 0:
            await asyncio.sleep(0)
        yield item


class ConnectorPool:
    """One connector per (partner, marketplace), built on first use from the stored integration.

    Credentials are decrypted only here, in memory, and handed to the connector; ``overrides`` lets the
    demo and tests point a marketplace at its sandbox and scale its clock. ``limit_store``: the
    accounts' rate limits are shared with every process using it (Redis), not this process's only.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        box: CredentialBox,
        overrides: dict[Marketplace, dict[str, Any]] | None = None,
        *,
        limit_store: LimitStore | None = None,
        exports_dir: Path | None = None,
    ) -> None:
        self._sessions = sessions
        # Uzum card exports land in <exports_dir>/<partner slug>/uzum-<shop id>/ (an account's own
        # ``export_dir`` setting wins): an operator finds each partner's files, never in /tmp.
        self.exports_dir = exports_dir if exports_dir is not None else Path("exports")
        self._box = box
        self._overrides = overrides or {}
        self.limit_store = limit_store
        self._conns: dict[tuple[int, Marketplace], Connector] = {}
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"ConnectorPool(open={len(self._conns)})"

    async def get(self, partner_id: int, marketplace: Marketplace) -> Connector:
        """The partner's connector for ``marketplace``; :class:`ConfigError` if not integrated."""
        key = (partner_id, Marketplace(marketplace))
        if key in self._conns:
            return self._conns[key]
        async with self._lock:
            if key in self._conns:
                return self._conns[key]
            async with self._sessions() as session:
                row = (
                    await session.execute(
                        select(MarketplaceIntegration).where(
                            MarketplaceIntegration.partner_id == partner_id,
                            MarketplaceIntegration.marketplace == key[1].value,
                            MarketplaceIntegration.active.is_(True),
                        )
                    )
                ).scalar_one_or_none()
                slug = await session.scalar(select(Partner.slug).where(Partner.id == partner_id))
            if row is None:
                raise ConfigError(f"partner {partner_id} has no active {key[1].value} integration")
            override = self._overrides.get(key[1], {})
            settings = {**(row.settings or {}), **override.get("settings", {})}
            if key[1] is Marketplace.UZUM and not settings.get("export_dir"):
                settings["export_dir"] = str(
                    export_folder(self.exports_dir, slug or f"partner-{partner_id}", settings.get("shop_id"))
                )
            account = parse_account(key[1], self._box.open(row.credentials_encrypted), settings)
            conn = make_connector(account, override.get("base_url"), limit_store=self.limit_store)
            self._conns[key] = conn
            return conn

    async def aclose(self) -> None:
        """Close every connector's HTTP client."""
        for conn in self._conns.values():
            await conn.aclose()
        self._conns.clear()


@dataclass
class Runtime:
    """Everything a handler needs. ``dry_run`` computes and records but writes nothing out."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    backend: Backend
    gateway: Gateway
    connectors: ConnectorPool
    progress: Progress = field(default_factory=Progress)
    dry_run: bool = False
    report_dir: Path = Path("reports")
    analytics_days: int = 30
    # State shared with every worker on every host (Redis; None in the embedded mode): the order
    # feeds and the price group commit below go through it (docs/limits.md).
    shared: RedisHandle | None = None
    # Order history shared by stock and analytics (see ``orders``); built from ``connectors``.
    orders: OrderFeeds = field(init=False)
    # Price pushes to one account at the same time share one bulk call (see ``group_push``).
    price_pushes: GroupPush[tuple[int, Marketplace], PriceUpdate] = field(init=False)

    def __post_init__(self) -> None:
        memo = SharedMemo(self.shared, "orders") if self.shared is not None else None
        self.orders = OrderFeeds(self.connectors, days=max(self.analytics_days, 14) + 1, shared=memo)
        hold = None
        if self.shared is not None:
            locks = SharedLocks(self.shared, "prices")
            hold = lambda key: locks.hold(f"{key[0]}:{Marketplace(key[1]).value}")  # noqa: E731
        self.price_pushes = GroupPush(self._send_prices, lambda update: update.offer_id, hold)

    async def _send_prices(self, key: tuple[int, Marketplace], updates: list[PriceUpdate]) -> PushReport:
        partner_id, market = key
        conn = await self.connectors.get(partner_id, market)
        return await conn.update_prices(updates, wait=True)

    @staticmethod
    def now() -> datetime:
        """Current time, timezone-aware UTC."""
        return datetime.now(UTC)

    async def aclose(self) -> None:
        """Close the gateway, the connectors and the shared state's client (the engine belongs to
        whoever created it)."""
        await self.connectors.aclose()
        await self.gateway.close()
        if self.shared is not None:
            await self.shared.close()
