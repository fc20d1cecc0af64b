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

from aimanager.connectors.base import PriceUpdate, PushReport
from aimanager.domain.enums import Marketplace
from aimanager.jobs import Backend
from aimanager.llm import Gateway
from aimanager.pipelines.services.connector_pool import ConnectorPool
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
