"""Order history per partner and marketplace: read once, shared by stock and analytics.

The stock buffers (sales velocity over two weeks) and the analytics report (the last 30 days) read the
same order feed, and marketplaces ration it hard — WB's finance report allows one request per minute
per account. One read of the widest window serves every handler of the process for ``ttl_s``;
concurrent readers wait for the same request instead of each spending the account's quota.

With ``shared`` (a ``shared_state.SharedMemo``, when Redis is configured) the read is shared by every
worker on every host too: the first process to need an account's feed takes a short lock, reads,
and stores the lines in Redis for ``ttl_s``; the others use that copy (or wait for it while the read
is in flight). Redis unreachable: each process reads for itself, as without it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from pydantic import TypeAdapter

from aimanager.connectors.base import Connector, SaleRecord
from aimanager.domain.enums import Marketplace

_RECORDS: TypeAdapter[list[SaleRecord]] = TypeAdapter(list[SaleRecord])


class SharedFeedMemo(Protocol):
    """The cross-host memo the feeds use (``shared_state.SharedMemo``)."""

    async def get_or_compute(self, name: str, compute: Any, *, ttl_s: float, accept: Any = ...) -> str: ...


class ConnectorSource(Protocol):
    async def get(self, partner_id: int, marketplace: Marketplace) -> Connector: ...


@dataclass
class _Entry:
    fetched_at: float
    start: date
    end: date
    task: asyncio.Future[list[SaleRecord]]


class OrderFeeds:
    """Memoised ``read_orders`` per (partner, marketplace), covering at least the last ``days`` days."""

    def __init__(
        self,
        connectors: ConnectorSource,
        *,
        days: int,
        ttl_s: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
        shared: SharedFeedMemo | None = None,
    ) -> None:
        self._connectors = connectors
        self._days = days
        self._ttl_s = ttl_s
        self._clock = clock
        self._shared = shared
        self._entries: dict[tuple[int, Marketplace], _Entry] = {}

    async def read(
        self, partner_id: int, market: Marketplace, date_from: date, date_to: date
    ) -> list[SaleRecord]:
        """Order lines dated ``date_from``..``date_to`` (inclusive)."""
        key = (partner_id, Marketplace(market))
        entry = self._entries.get(key)
        now = self._clock()
        if (
            entry is None
            or now - entry.fetched_at > self._ttl_s
            or entry.start > date_from
            or entry.end < date_to
        ):
            today = datetime.now(UTC).date()
            start = min(date_from, today - timedelta(days=self._days))
            end = max(date_to, today)
            task = asyncio.ensure_future(self._fetch(key, start, end))
            entry = self._entries[key] = _Entry(now, start, end, task)
            self._forget_expired(now)
        try:
            # Shielded: a reader that times out must not cancel the read the others wait for.
            records = await asyncio.shield(entry.task)
        except Exception:
            if self._entries.get(key) is entry:
                del self._entries[key]  # the next reader asks again
            raise
        return [r for r in records if date_from <= r.date.date() <= date_to]

    def _forget_expired(self, now: float) -> None:
        """Drop finished reads older than the ttl: a worker serving 1,000 partners would otherwise keep
        every account's month of order lines for as long as it runs."""
        old = [k for k, e in self._entries.items() if now - e.fetched_at > self._ttl_s and e.task.done()]
        for k in old:
            del self._entries[k]

    async def _fetch(self, key: tuple[int, Marketplace], start: date, end: date) -> list[SaleRecord]:
        if self._shared is None:
            return await self._read(key, start, end)

        async def read() -> str:
            records = await self._read(key, start, end)
            return json.dumps(
                {
                    "start": start.isoformat(),
                    "end": end.isoformat(),
                    "records": _RECORDS.dump_python(records, mode="json"),
                },
                separators=(",", ":"),
            )

        def covers(text: str) -> bool:  # a copy read for a narrower window does not serve this one
            stored = json.loads(text)
            return bool(
                date.fromisoformat(stored["start"]) <= start and date.fromisoformat(stored["end"]) >= end
            )

        text = await self._shared.get_or_compute(
            f"{key[0]}:{key[1].value}", read, ttl_s=self._ttl_s, accept=covers
        )
        return _RECORDS.validate_python(json.loads(text)["records"])

    async def _read(self, key: tuple[int, Marketplace], start: date, end: date) -> list[SaleRecord]:
        conn = await self._connectors.get(*key)
        return await conn.read_orders(start, end)
