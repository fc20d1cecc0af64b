"""The process's connectors, one per (partner, marketplace), at most ``max_open`` of them open.

A worker serving 1,000 partners on four marketplaces would otherwise keep 4,000 connectors for its
whole life, each with its own httpx client and connection pool; the servers close idle keep-alive
connections and a pool never used again never closes its side (hundreds of sockets in CLOSE-WAIT,
and memory that grows with the partners). Here:

* every connector of one marketplace borrows that marketplace's one connection pool
  (``http.SharedTransport``): sockets are bounded by the pool's limits, and expired idle connections
  are pruned on every request because the pool is always in use;
* connectors are kept in least-recently-used order and the oldest is closed (``aclose``) when a new
  one would pass ``max_open``. Rebuilding one is cheap (a database row, no network call), and what
  must outlive a connector does: each account's rate limits and pace windows are the process's (or
  Redis's) ``shared_limiters``, not the connector's. A handler still holding an evicted connector
  keeps working (its client reopens on the shared pool).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aimanager.connectors.base import Connector
from aimanager.connectors.http import SharedTransport
from aimanager.connectors.ratelimit import LimitStore
from aimanager.connectors.registry import make_connector, parse_account
from aimanager.connectors.uzum.export import export_folder
from aimanager.db.crypto import CredentialBox
from aimanager.db.models import MarketplaceIntegration, Partner
from aimanager.domain.enums import Marketplace
from aimanager.errors import ConfigError
from aimanager.logs import get_logger

log = get_logger(__name__)

# Open connectors per process. A worker runs ~64 jobs at a time, each on one or two accounts, so the
# accounts in use fit many times over; the rest are rebuilt on demand.
MAX_OPEN = 512


class ConnectorPool:
    """One connector per (partner, marketplace), built on first use from the stored integration.

    Credentials are decrypted only here, in memory, and handed to the connector; ``overrides`` lets the
    demo and tests point a marketplace at its sandbox and scale its clock. ``limit_store``: the
    accounts' rate limits are shared with every process using it (Redis), not this process's only.
    ``max_open``: connectors kept open (least recently used closed first; see the module docstring).
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        box: CredentialBox,
        overrides: dict[Marketplace, dict[str, Any]] | None = None,
        *,
        limit_store: LimitStore | None = None,
        exports_dir: Path | None = None,
        max_open: int = MAX_OPEN,
    ) -> None:
        if max_open < 1:
            raise ValueError("max_open must be at least 1")
        self._sessions = sessions
        # Uzum card exports land in <exports_dir>/<partner slug>/uzum-<shop id>/ (an account's own
        # ``export_dir`` setting wins): an operator finds each partner's files, never in /tmp.
        self.exports_dir = exports_dir if exports_dir is not None else Path("exports")
        self._box = box
        self._overrides = overrides or {}
        self.limit_store = limit_store
        self.max_open = max_open
        self._conns: OrderedDict[tuple[int, Marketplace], Connector] = OrderedDict()
        self._transports: dict[Marketplace, SharedTransport] = {}
        self._lock = asyncio.Lock()
        self.evicted = 0

    def __repr__(self) -> str:
        return f"ConnectorPool(open={len(self._conns)}, max_open={self.max_open})"

    @property
    def open_count(self) -> int:
        return len(self._conns)

    async def get(self, partner_id: int, marketplace: Marketplace) -> Connector:
        """The partner's connector for ``marketplace``; :class:`ConfigError` if not integrated."""
        key = (partner_id, Marketplace(marketplace))
        found = self._conns.get(key)
        if found is not None:
            self._conns.move_to_end(key)
            return found
        async with self._lock:
            found = self._conns.get(key)
            if found is not None:
                self._conns.move_to_end(key)
                return found
            conn = await self._build(partner_id, key[1])
            self._conns[key] = conn
            evict = []
            while len(self._conns) > self.max_open:
                evict.append(self._conns.popitem(last=False))
        for (old_partner, old_market), old in evict:
            self.evicted += 1
            log.debug("connector.pool.evicted", partner_id=old_partner, marketplace=old_market.value)
            await old.aclose()
        return conn

    async def _build(self, partner_id: int, market: Marketplace) -> Connector:
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(MarketplaceIntegration).where(
                        MarketplaceIntegration.partner_id == partner_id,
                        MarketplaceIntegration.marketplace == market.value,
                        MarketplaceIntegration.active.is_(True),
                    )
                )
            ).scalar_one_or_none()
            slug = await session.scalar(select(Partner.slug).where(Partner.id == partner_id))
        if row is None:
            raise ConfigError(f"partner {partner_id} has no active {market.value} integration")
        override = self._overrides.get(market, {})
        settings = {**(row.settings or {}), **override.get("settings", {})}
        if market is Marketplace.UZUM and not settings.get("export_dir"):
            settings["export_dir"] = str(
                export_folder(self.exports_dir, slug or f"partner-{partner_id}", settings.get("shop_id"))
            )
        account = parse_account(market, self._box.open(row.credentials_encrypted), settings)
        transport = self._transports.get(market)
        if transport is None:
            transport = self._transports[market] = SharedTransport()
        return make_connector(account, override.get("base_url"), transport, limit_store=self.limit_store)

    async def aclose(self) -> None:
        """Close every connector's HTTP client, then the shared connection pools."""
        conns = list(self._conns.values())
        self._conns.clear()
        for conn in conns:
            await conn.aclose()
        transports = list(self._transports.values())
        self._transports.clear()
        for transport in transports:
            await transport.close_pool()
