"""The answer cache: never ask the same question twice.

Key = sha256 of (task kind, model tier, prompt version, normalised input) — the tier, not the model, so a
fallback model's answer serves later runs too. Values are JSON text. Two stores behind one contract:
SQL (the embedded default, table ``llm_cache``) and Redis.

Redis is a cache, never a dependency a job can fail on: while it cannot be reached every read is a
miss and writes are skipped (``RedisOutage``); it is tried again after a growing pause and used again
as soon as it answers.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from aimanager.db.models import LLMCacheEntry
from aimanager.logs import get_logger
from aimanager.shared_state import REDIS_TIMEOUT_S, RedisOutage, connect, mget, redis_errors

log = get_logger(__name__)
# The Redis plumbing is shared with the marketplace limits and locks (``aimanager.shared_state``);
# re-exported here under the names the gateway has always used.
__all__ = ["REDIS_TIMEOUT_S", "RedisOutage", "redis_errors"]


def cache_key(task_kind: str, tier: str, prompt_version: str, payload: Any) -> str:
    """Stable key of one request: canonical JSON, so dict order and whitespace do not matter."""
    blob = json.dumps(
        [task_kind, tier, prompt_version, payload], sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(blob.encode()).hexdigest()


class CacheStore(Protocol):
    """A key → JSON text store with optional expiry."""

    async def get_many(self, keys: list[str]) -> dict[str, str]:
        """The stored values of the keys that are present and not expired."""
        ...

    async def put_many(self, entries: Iterable[tuple[str, str, str | None]]) -> None:
        """Store ``(key, value, model)`` triples, replacing existing values."""
        ...

    async def delete(self, keys: list[str]) -> None:
        """Forget keys (an entry that no longer passes validation)."""
        ...

    async def close(self) -> None: ...


class SQLCacheStore:
    """The cache in the ``llm_cache`` table (SQLite or PostgreSQL)."""

    def __init__(self, engine: AsyncEngine, ttl: timedelta | None = None) -> None:
        self.engine = engine
        self.ttl = ttl
        self._pending: list[tuple[str, str, str | None]] = []
        self._lock = asyncio.Lock()

    async def get_many(self, keys: list[str]) -> dict[str, str]:
        if not keys:
            return {}
        now = datetime.now(UTC)
        found: dict[str, str] = {}
        async with self.engine.connect() as conn:
            for start in range(0, len(keys), 500):  # stay under bind-parameter limits
                chunk = keys[start : start + 500]
                rows = await conn.execute(
                    select(LLMCacheEntry.key, LLMCacheEntry.value, LLMCacheEntry.expires_at).where(
                        LLMCacheEntry.key.in_(chunk)
                    )
                )
                for key, value, expires_at in rows:
                    if expires_at is None or expires_at > now:
                        found[key] = value
        return found

    async def put_many(self, entries: Iterable[tuple[str, str, str | None]]) -> None:
        # Group commit, as in the ledger: one writer at a time, carrying everything queued meanwhile.
        self._pending.extend(entries)
        async with self._lock:
            if not self._pending:
                return
            batch, self._pending = dict((k, (k, v, m)) for k, v, m in self._pending), []
            await self._upsert(list(batch.values()))

    async def _upsert(self, entries: list[tuple[str, str, str | None]]) -> None:
        rows = [
            {
                "key": key,
                "value": value,
                "model": model,
                "created_at": datetime.now(UTC),
                "expires_at": datetime.now(UTC) + self.ttl if self.ttl else None,
            }
            for key, value, model in entries
        ]
        if not rows:
            return
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt: Any = pg_insert(LLMCacheEntry)
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(LLMCacheEntry)
        stmt = stmt.on_conflict_do_update(
            index_elements=[LLMCacheEntry.key],
            set_={
                "value": stmt.excluded.value,
                "model": stmt.excluded.model,
                "created_at": stmt.excluded.created_at,
                "expires_at": stmt.excluded.expires_at,
            },
        )
        async with self.engine.begin() as conn:
            await conn.execute(stmt, rows)

    async def delete(self, keys: list[str]) -> None:
        if keys:
            async with self.engine.begin() as conn:
                await conn.execute(delete(LLMCacheEntry).where(LLMCacheEntry.key.in_(keys)))

    async def close(self) -> None:
        return None


class RedisCacheStore:
    """The cache in Redis (``prefix`` + key → value), expiry by Redis TTL; misses while Redis is down.

    ``url`` may name a Redis Cluster (``redis+cluster://``): each entry is one key, so reads and
    writes of several entries are split by slot (``shared_state.mget``, a non-transactional pipeline).
    """

    def __init__(self, url: str, prefix: str = "aimanager:llm:cache:", ttl: timedelta | None = None) -> None:
        self._redis: Any = connect(url, decode_responses=True, timeout_s=REDIS_TIMEOUT_S)
        self.prefix = prefix
        self.ttl = ttl
        self.outage = RedisOutage("cache", events="llm.redis")
        self._errors = redis_errors()
        self.skipped = 0  # reads answered as misses and writes dropped because Redis was down

    async def get_many(self, keys: list[str]) -> dict[str, str]:
        if not keys:
            return {}
        if not self.outage.usable():
            self.skipped += 1
            return {}
        try:
            values = await mget(self._redis, [self.prefix + k for k in keys])
        except self._errors as exc:
            self.outage.failed(exc)
            self.skipped += 1
            return {}
        self.outage.ok()
        return {k: v for k, v in zip(keys, values, strict=True) if v is not None}

    async def put_many(self, entries: Iterable[tuple[str, str, str | None]]) -> None:
        if not self.outage.usable():
            self.skipped += 1
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key, value, _model in entries:
                    ex = int(self.ttl.total_seconds()) if self.ttl else None
                    pipe.set(self.prefix + key, value, ex=ex)
                await pipe.execute()
        except self._errors as exc:
            self.outage.failed(exc)
            self.skipped += 1
            return
        self.outage.ok()

    async def delete(self, keys: list[str]) -> None:
        if not keys or not self.outage.usable():
            return
        try:
            await self._redis.delete(*[self.prefix + k for k in keys])
        except self._errors as exc:
            self.outage.failed(exc)
            return
        self.outage.ok()

    async def close(self) -> None:
        await self._redis.aclose()
