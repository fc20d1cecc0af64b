"""The engine's cron on SQL: schedules in ``job_schedules``, fired by whichever worker looks first.

Exactly once per period: a firing moves ``next_at`` with a compare-and-set (``WHERE next_at = :seen``)
in the same transaction that enqueues the job, and the job carries a unique key naming the period.
On PostgreSQL the due rows are read ``FOR UPDATE SKIP LOCKED``, so two workers looking at the same
moment split the due schedules instead of queueing behind each other; on SQLite the write lock
serialises the transactions.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from aimanager.jobs.backends.sql.tables import schedules_t
from aimanager.jobs.model import Clock, EnqueueResult, JobSpec, Schedule, encode_payload, parse_payload
from aimanager.jobs.priority import Priority


def _schedule(row: Any) -> Schedule:
    spec = JobSpec(
        kind=row.kind,
        payload=parse_payload(row.payload),
        partner_id=row.partner_id,
        priority=Priority(row.priority),
        batch_key=row.batch_key,
        max_attempts=row.max_attempts,
    )
    return Schedule(row.name, spec, row.every_s, row.next_at, row.enabled, row.last_fired_at, row.fired)


class SQLSchedules:
    """A mixin of ``SQLBackend``: the backend provides the engine, clock, writer and ``enqueue_many``."""

    engine: AsyncEngine
    clock: Clock
    dialect: str
    _wake: Any
    _write: Callable[..., contextlib.AbstractAsyncContextManager[AsyncConnection]]

    enqueue_many: Callable[..., Awaitable[EnqueueResult]]

    async def set_schedule(self, name: str, job: JobSpec, every_s: float, *, first_in: float = 0.0) -> None:
        if every_s <= 0:
            raise ValueError("every_s must be positive")
        now = self.clock()
        row = job.row(now)  # validated as an enqueue would
        values = {
            "kind": job.kind,
            "partner_id": job.partner_id,
            "payload": encode_payload(job.payload),
            "priority": row["priority"],
            "batch_key": job.batch_key,
            "max_attempts": job.max_attempts,
            "every_s": every_s,
        }
        async with self._write() as conn:
            old = (
                await conn.execute(select(schedules_t.c.every_s).where(schedules_t.c.name == name))
            ).scalar_one_or_none()
            if old is None:
                await conn.execute(
                    schedules_t.insert().values(
                        name=name, next_at=now + first_in, enabled=True, fired=0, **values
                    )
                )
            else:
                keep = old == every_s  # a new period starts counting from now
                extra = {} if keep else {"next_at": now + first_in}
                await conn.execute(
                    update(schedules_t).where(schedules_t.c.name == name).values(**values, **extra)
                )

    async def remove_schedule(self, name: str) -> bool:
        async with self._write() as conn:
            res = await conn.execute(delete(schedules_t).where(schedules_t.c.name == name))
        return bool(res.rowcount)

    async def list_schedules(self) -> list[Schedule]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(schedules_t).order_by(schedules_t.c.name))
            return [_schedule(r) for r in rows]

    async def fire_due_schedules(self) -> int:
        now = self.clock()
        query = select(schedules_t).where(schedules_t.c.enabled.is_(True), schedules_t.c.next_at <= now)
        if self.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        async with self._write() as conn:
            due = (await conn.execute(query)).all()
            specs: list[JobSpec] = []
            for row in due:
                moved = await conn.execute(
                    update(schedules_t)
                    .where(schedules_t.c.name == row.name, schedules_t.c.next_at == row.next_at)
                    .values(next_at=now + row.every_s, last_fired_at=now, fired=schedules_t.c.fired + 1)
                )
                if moved.rowcount:
                    specs.append(_schedule(row).firing(row.next_at))
            if not specs:
                return 0
            result = await self.enqueue_many(specs, conn=conn)
        self._wake.set()
        return len(result.ids)
