"""The SQL backend's administration: cancel, retry, prune, inspection and rate-limit settings.

A mixin of ``SQLBackend`` (``backend.py`` holds the hot path: enqueue, claim, acks, leases).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from aimanager.jobs.backends.sql import statements as q
from aimanager.jobs.backends.sql.stats import sql_stats
from aimanager.jobs.backends.sql.tables import jobs_t, keys_t
from aimanager.jobs.model import FINISHED, JOIN_AHEAD_S, Clock, Job, JobStatus, QueueStats
from aimanager.jobs.priority import Priority
from aimanager.jobs.stats import THROUGHPUT_WINDOW_S
from aimanager.logs import get_logger

log = get_logger("aimanager.jobs.sql")
PRUNE_CHUNK = 5000


class SQLAdministration:
    """Operations outside the hot path; the backend provides the engine, clock and writers."""

    engine: AsyncEngine
    clock: Clock
    dialect: str
    _insert: Any
    _notify_soon: Callable[[], None]
    _write: Callable[..., contextlib.AbstractAsyncContextManager[AsyncConnection]]

    async def cancel(self, job_ids: Sequence[int]) -> int:
        stmt = (
            update(jobs_t)
            .where(jobs_t.c.id.in_(list(job_ids)), jobs_t.c.status == JobStatus.QUEUED.value)
            .values(status=JobStatus.CANCELLED.value, finished_at=self.clock())
        )
        async with self._write() as conn:
            return int((await conn.execute(stmt)).rowcount)

    async def retry_dead(self, job_ids: Sequence[int]) -> int:
        now = self.clock()
        dead = [JobStatus.DEAD.value, JobStatus.FAILED.value, JobStatus.CANCELLED.value]
        sla = {int(p): p.start_sla_seconds for p in Priority}
        async with self._write() as conn:
            rows = (
                await conn.execute(
                    select(jobs_t.c.id, jobs_t.c.priority).where(
                        jobs_t.c.id.in_(list(job_ids)), jobs_t.c.status.in_(dead)
                    )
                )
            ).all()
            for job_id, prio in rows:
                await conn.execute(
                    update(jobs_t)
                    .where(jobs_t.c.id == job_id)
                    .values(
                        status=JobStatus.QUEUED.value,
                        attempts=0,
                        crashes=0,
                        run_at=now,
                        deadline=now + sla[prio],
                        finished_at=None,
                        started_at=None,
                        worker_id=None,
                        lease_until=None,
                    )
                )
            if rows:
                await conn.execute(q.UNPARK_KEYS_OF_JOBS, {"ids": [r[0] for r in rows]})
        if rows:
            self._notify_soon()
        return len(rows)

    async def prune(self, older_than_s: float, *, chunk: int = PRUNE_CHUNK) -> int:
        # In chunks, each its own short transaction: one DELETE of a million finished rows would hold
        # back vacuum's horizon (and lock those rows) for as long as it ran, on the busiest table.
        cutoff = self.clock() - older_than_s
        finished = [s.value for s in FINISHED]
        doomed = (
            select(jobs_t.c.id)
            .where(jobs_t.c.status.in_(finished), jobs_t.c.finished_at < cutoff)
            .limit(chunk)
            .scalar_subquery()
        )
        stmt = delete(jobs_t).where(jobs_t.c.id.in_(doomed))
        pruned = 0
        while True:
            async with self._write() as conn:
                n = int((await conn.execute(stmt)).rowcount)
            pruned += n
            if n < chunk:
                break
        keys = await self._prune_keys()
        if keys:
            log.info("jobs.keys_pruned", count=keys)
        return pruned

    async def _prune_keys(self) -> int:
        """Delete the batch keys no job uses any more (a rate-limited key keeps its configuration).

        A claim scans the keys, so keys of long-finished work would slow every claim down. The race
        to avoid: an enqueue that has inserted jobs for a key but not committed them. SQLite has one
        writer at a time, so there is none. On PostgreSQL the enqueue touches the key row (a row lock
        until it commits) and this runs in REPEATABLE READ and skips locked rows: a key whose enqueue
        is in flight is skipped, and one whose enqueue committed after this snapshot makes the delete
        fail with a serialization error, so it is left for the next prune.
        """
        stmt = q.prune_keys(self.dialect)
        if self.dialect != "postgresql":
            async with self._write() as conn:
                return int((await conn.execute(stmt)).rowcount)
        try:
            async with self.engine.connect() as conn:
                rr = await conn.execution_options(isolation_level="REPEATABLE READ")
                async with rr.begin():
                    return int((await rr.execute(stmt)).rowcount)
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != "40001":
                raise
            log.info("jobs.keys_prune_deferred", reason="a concurrent enqueue touched a key")
            return 0

    async def get(self, job_id: int) -> Job | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(jobs_t).where(jobs_t.c.id == job_id))).first()
        return None if row is None else Job.from_row(row)

    async def list_jobs(
        self, *, status: JobStatus | None = None, kind: str | None = None, limit: int = 50
    ) -> list[Job]:
        stmt = select(jobs_t).order_by(jobs_t.c.id.desc()).limit(limit)
        if status is not None:
            stmt = stmt.where(jobs_t.c.status == status.value)
        if kind is not None:
            stmt = stmt.where(jobs_t.c.kind == kind)
        async with self.engine.connect() as conn:
            return [Job.from_row(r) for r in (await conn.execute(stmt)).all()]

    async def stats(self) -> QueueStats:
        async with self.engine.connect() as conn:
            return await sql_stats(conn, self.clock(), THROUGHPUT_WINDOW_S)

    async def busy_partners(self, kinds: Sequence[str]) -> set[int]:
        stmt = (
            select(jobs_t.c.partner_id)
            .distinct()
            .where(
                jobs_t.c.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value]),
                jobs_t.c.kind.in_(list(kinds)),
                jobs_t.c.partner_id.isnot(None),
            )
        )
        async with self.engine.connect() as conn:
            return {int(p) for p in (await conn.execute(stmt)).scalars()}

    async def set_rate_limit(self, key: str, rate: float | None, burst: float | None = None) -> None:
        burst_v = (burst if burst is not None else max(1.0, rate)) if rate else None
        values = {
            "rate": rate if rate else None,
            "burst": burst_v,
            "tokens": burst_v,
            "refilled_at": self.clock() if rate else None,
        }
        stmt = self._insert(keys_t).values(key=key, last_claim_at=self.clock() - JOIN_AHEAD_S, **values)
        stmt = stmt.on_conflict_do_update(index_elements=["key"], set_=values)
        async with self._write() as conn:
            await conn.execute(stmt)
