"""Finding tasks among millions, and retrying them by filter — the query behind ``aimanager tasks``.

A ``TaskFilter`` is what an operator narrows by: partners, capability, marketplace, status, a time
window on ``updated_at``. Lists are keyset-paginated on ``(updated_at, id)`` newest first, served by
``ix_tasks_partner_updated`` (one partner) or ``ix_tasks_updated`` (all): a page never sorts the table.
``retry_matching`` queues the matching tasks again through ``start_run`` — the same planning and
chaining ``aimanager run`` and ``aimanager tasks retry`` use — in bounded chunks.

``partner_ids`` is the set of partners the caller may see (``None``: all), resolved by the face.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aimanager.db.models import Partner, TaskRecord
from aimanager.domain.enums import Capability
from aimanager.jobs import Backend, Priority
from aimanager.pipelines.services.runs import start_run

RETRYABLE = ("failed", "needs_input")
# How many matching tasks one bulk retry reads at most: a filter that matches more is retried in
# several calls (the answer says how many are left), so one request never plans a million SKUs.
RETRY_LIMIT = 10_000


@dataclass(frozen=True)
class TaskFilter:
    partner_ids: Collection[int] | None = None  # None: every partner the caller may see
    capability: Capability | None = None
    marketplace: str | None = None
    status: str | None = None
    updated_from: datetime | None = None
    updated_to: datetime | None = None


def _where(query: Any, f: TaskFilter) -> Any:
    if f.partner_ids is not None:
        query = query.where(TaskRecord.partner_id.in_(list(f.partner_ids)))
    if f.capability is not None:
        query = query.where(TaskRecord.capability == f.capability.value)
    if f.marketplace is not None:
        query = query.where(TaskRecord.marketplace == f.marketplace)
    if f.status is not None:
        query = query.where(TaskRecord.status == f.status)
    if f.updated_from is not None:
        query = query.where(TaskRecord.updated_at >= f.updated_from)
    if f.updated_to is not None:
        query = query.where(TaskRecord.updated_at < f.updated_to)
    return query


async def list_tasks(
    session: AsyncSession,
    f: TaskFilter,
    *,
    after: tuple[datetime, int] | None = None,
    limit: int = 50,
) -> list[tuple[TaskRecord, str]]:
    """Tasks with their partner's slug, newest first, after the keyset ``after`` = (updated_at, id)."""
    query = _where(select(TaskRecord, Partner.slug).join(Partner, Partner.id == TaskRecord.partner_id), f)
    if after is not None:
        at, last_id = after
        query = query.where(
            or_(TaskRecord.updated_at < at, and_(TaskRecord.updated_at == at, TaskRecord.id < last_id))
        )
    query = query.order_by(TaskRecord.updated_at.desc(), TaskRecord.id.desc()).limit(limit)
    return [(task, slug) for task, slug in (await session.execute(query)).all()]


async def count_by_status(session: AsyncSession, f: TaskFilter) -> dict[str, int]:
    """Tasks per status under the filter (its status ignored). With no partner, no capability and no
    time window this counts the whole table: the faces ask it per partner or per window."""
    query = select(TaskRecord.status, func.count()).select_from(TaskRecord)
    if f.partner_ids is not None:
        query = query.where(TaskRecord.partner_id.in_(list(f.partner_ids)))
    if f.capability is not None:
        query = query.where(TaskRecord.capability == f.capability.value)
    if f.updated_from is not None:
        query = query.where(TaskRecord.updated_at >= f.updated_from)
    if f.updated_to is not None:
        query = query.where(TaskRecord.updated_at < f.updated_to)
    rows = (await session.execute(query.group_by(TaskRecord.status))).all()
    return {status: int(n) for status, n in rows}


@dataclass
class RetryResult:
    matched: int = 0
    jobs_queued: int = 0
    more: bool = False  # the filter matched more than RETRY_LIMIT tasks: call again for the rest


async def retry_matching(
    sessions: async_sessionmaker[AsyncSession],
    backend: Backend,
    f: TaskFilter,
    *,
    priority: Priority = Priority.MEDIUM,
) -> RetryResult:
    """Queue the failed (or ``needs_input``) tasks under ``f`` again, per partner and capability, their
    SKUs through ``start_run``. Done tasks are never retried by filter."""
    status = f.status or "failed"
    if status not in RETRYABLE:
        raise ValueError(f"only {' or '.join(RETRYABLE)} tasks are retried, not {status!r}")
    f = TaskFilter(f.partner_ids, f.capability, f.marketplace, status, f.updated_from, f.updated_to)
    async with sessions() as session:
        rows = await list_tasks(session, f, limit=RETRY_LIMIT + 1)
    result = RetryResult(matched=min(len(rows), RETRY_LIMIT), more=len(rows) > RETRY_LIMIT)
    groups: dict[tuple[int, str], set[str]] = {}
    for task, _ in rows[:RETRY_LIMIT]:
        groups.setdefault((task.partner_id, task.capability), set()).add(task.sku)
    for (partner_id, cap), skus in sorted(groups.items()):
        run = await start_run(
            sessions,
            backend,
            [Capability(cap)],
            partner_ids=[partner_id],
            skus=sorted(s for s in skus if s) or None,
            priority=priority,
        )
        result.jobs_queued += len(run.job_ids) + len(run.followup_job_ids)
    return result
