"""The SQL backend's pauses: the ``job_pauses`` rows and the exclusion list each claim carries.

A mixin of ``SQLBackend``. The list is read at most every ``PAUSE_REFRESH_S`` seconds of the
backend's clock (one tiny SELECT), not in the claim statement: a subquery on ``job_pauses`` in every
claim would cost a join even with nothing paused, and the claim's plans are tuned to their indexes.
Pauses and resumes through this backend refresh its own list at once; other processes see them within
``PAUSE_REFRESH_S``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from aimanager.db.pool import ENGINE, db_priority
from aimanager.jobs.backends.sql.tables import pauses_t
from aimanager.jobs.model import Clock
from aimanager.jobs.pauses import PAUSE_REFRESH_S, Pause, PauseSet, target
from aimanager.logs import get_logger

log = get_logger("aimanager.jobs.sql")


class SQLPauses:
    engine: AsyncEngine
    clock: Clock
    _insert: Callable[..., object]
    _notify_soon: Callable[[], None]
    _write: Callable[..., contextlib.AbstractAsyncContextManager[AsyncConnection]]
    _paused: PauseSet = PauseSet()
    _paused_read_at: float | None = None

    async def pause(
        self,
        *,
        kind: str | None = None,
        partner_id: int | None = None,
        reason: str | None = None,
        by: str | None = None,
    ) -> bool:
        scope, value = target(kind, partner_id)
        row = {
            "scope": scope,
            "value": value,
            "reason": (reason or None) and reason[:500],
            "paused_by": (by or None) and by[:96],
            "paused_at": self.clock(),
        }
        async with self._write() as conn:
            stmt = self._insert(pauses_t).values(row).on_conflict_do_nothing()  # type: ignore[attr-defined]
            added = bool((await conn.execute(stmt)).rowcount)
        self._paused_read_at = None
        log.info("jobs.paused", scope=scope, value=value, by=by, new=added)
        return added

    async def resume(self, *, kind: str | None = None, partner_id: int | None = None) -> bool:
        scope, value = target(kind, partner_id)
        async with self._write() as conn:
            stmt = delete(pauses_t).where(pauses_t.c.scope == scope, pauses_t.c.value == value)
            removed = bool((await conn.execute(stmt)).rowcount)
        self._paused_read_at = None
        if removed:
            self._notify_soon()  # its queued jobs are claimable now: wake the workers
        log.info("jobs.resumed", scope=scope, value=value, was_paused=removed)
        return removed

    async def list_pauses(self) -> list[Pause]:
        with db_priority(ENGINE):
            async with self.engine.connect() as conn:
                rows = (
                    await conn.execute(select(pauses_t).order_by(pauses_t.c.scope, pauses_t.c.value))
                ).all()
        return [Pause(r.scope, r.value, r.reason, r.paused_by, r.paused_at) for r in rows]

    async def _pauses_now(self) -> PauseSet:
        """The exclusion list for a claim, read again once ``PAUSE_REFRESH_S`` has passed (or the
        clock went back)."""
        now = self.clock()
        read_at = self._paused_read_at
        if read_at is None or not 0.0 <= now - read_at < PAUSE_REFRESH_S:
            self._paused = PauseSet.of(await self.list_pauses())
            self._paused_read_at = now
        return self._paused
