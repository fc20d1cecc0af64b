"""Runs, schedules, tasks and jobs: starting work and finding what happened to it."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from aimanager.api import pagination as pg
from aimanager.api.auth import Scope, operator, partner_in_path, scope
from aimanager.api.deps import Cursor, Limit, PartnerFilter, PathId, db, release
from aimanager.api.errors import PROBLEM_RESPONSES, NotFound, Unprocessable
from aimanager.api.schemas import (
    CountOut,
    JobIdsIn,
    JobOut,
    PartnerRunIn,
    QueueStatsOut,
    RetryIn,
    RetryOut,
    RunIn,
    RunOut,
    ScheduleIn,
    ScheduleOut,
    TaskOut,
)
from aimanager.api.state import AppState, get_state
from aimanager.db.models import Partner
from aimanager.domain.enums import Capability, Marketplace
from aimanager.jobs import Job, JobStatus, Priority
from aimanager.jobs.model import to_datetime
from aimanager.pipelines.services import schedules as sched
from aimanager.pipelines.services.runs import RunStarted, start_run
from aimanager.pipelines.services.task_queries import TaskFilter, count_by_status, list_tasks, retry_matching

router = APIRouter(prefix="/v1", tags=["work"], responses=PROBLEM_RESPONSES)
TaskStatus = Query(None, pattern="^(done|failed|needs_input|skipped)$")


def _run_out(run: RunStarted) -> RunOut:
    return RunOut(
        queued=dict(run.queued),
        waiting=dict(run.waiting),
        job_ids=run.job_ids,
        followup_job_ids=run.followup_job_ids,
        skipped=run.skipped[:200],
    )


@router.post("/runs", response_model=RunOut, dependencies=[Depends(operator)])
async def start(
    body: RunIn,
    sc: Scope = Depends(scope),
    st: AppState = Depends(get_state),
    session: AsyncSession = Depends(db),
) -> RunOut:
    """Plan and queue a run, as ``aimanager run`` does (cards first, the rest after each partner's cards)."""
    ids = [(await sc.partner(session, ref)).id for ref in body.partners] if body.partners else None
    await release(session)
    run = await start_run(
        st.sessions,
        st.backend,
        body.capabilities,
        partner_ids=ids,
        skus=body.skus,
        priority=Priority.parse(body.priority),
    )
    return _run_out(run)


@router.post("/partners/{partner}/runs", response_model=RunOut, dependencies=[Depends(operator)])
async def start_for_partner(
    body: PartnerRunIn,
    row: Partner = Depends(partner_in_path),
    st: AppState = Depends(get_state),
    session: AsyncSession = Depends(db),
) -> RunOut:
    await release(session)
    run = await start_run(
        st.sessions,
        st.backend,
        body.capabilities,
        partner_ids=[row.id],
        skus=body.skus,
        priority=Priority.parse(body.priority),
    )
    return _run_out(run)


def _schedule_out(s: Any) -> ScheduleOut:
    return ScheduleOut(
        name=s.name,
        kind=s.job.kind,
        partner_id=s.job.partner_id,
        every_s=s.every_s,
        next_at=to_datetime(s.next_at),
    )


@router.get("/schedules", response_model=list[ScheduleOut], dependencies=[Depends(operator)])
async def list_schedules(st: AppState = Depends(get_state)) -> list[ScheduleOut]:
    return [_schedule_out(s) for s in await st.backend.list_schedules()]


@router.put("/schedules", response_model=ScheduleOut, dependencies=[Depends(operator)])
async def set_schedule(
    body: ScheduleIn,
    sc: Scope = Depends(scope),
    st: AppState = Depends(get_state),
    session: AsyncSession = Depends(db),
) -> ScheduleOut:
    """Run a capability every N for one partner, or for every partner without its own schedule."""
    try:
        every = sched.parse_every(body.every)
    except ValueError as exc:
        raise Unprocessable(str(exc)) from None
    pid = (await sc.partner(session, body.partner)).id if body.partner else None
    await release(session)
    name = await sched.set_capability_schedule(
        st.backend, body.capability, every, partner_id=pid, priority=Priority.parse(body.priority)
    )
    found = [s for s in await st.backend.list_schedules() if s.name == name]
    return _schedule_out(found[0])


@router.delete("/schedules/{name}", response_model=CountOut, dependencies=[Depends(operator)])
async def remove_schedule(name: str, st: AppState = Depends(get_state)) -> CountOut:
    if not await st.backend.remove_schedule(name):
        raise NotFound(f"no schedule {name!r}")
    return CountOut(count=1)


def _task_out(task: Any, slug: str) -> TaskOut:
    return TaskOut(
        id=task.id,
        partner_id=task.partner_id,
        partner=slug,
        capability=task.capability,
        marketplace=task.marketplace,
        sku=task.sku,
        status=task.status,
        reason=task.reason,
        job_id=task.job_id,
        updated_at=task.updated_at,
    )


@router.get("/tasks", response_model=pg.Page[TaskOut])
async def tasks(
    sc: Scope = Depends(scope),
    session: AsyncSession = Depends(db),
    partner: str | None = PartnerFilter,
    capability: Capability | None = None,
    marketplace: Marketplace | None = None,
    status: str | None = TaskStatus,
    updated_from: datetime | None = None,
    updated_to: datetime | None = None,
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> pg.Page[TaskOut]:
    """Each task's latest outcome, newest first; filter by partner, capability, marketplace, status, time."""
    f = TaskFilter(
        await sc.narrow(session, partner),
        capability,
        marketplace.value if marketplace else None,
        status,
        updated_from,
        updated_to,
    )
    after = pg.decode(cursor, (datetime, int))
    rows = await list_tasks(session, f, after=(after[0], after[1]) if after else None, limit=limit + 1)
    return pg.page([_task_out(t, slug) for t, slug in rows], limit, lambda t: (t.updated_at, t.id))


@router.get("/partners/{partner}/tasks/counts", response_model=dict[str, int])
async def task_counts(
    row: Partner = Depends(partner_in_path),
    session: AsyncSession = Depends(db),
    capability: Capability | None = None,
) -> dict[str, int]:
    """One partner's tasks per status (an index range of that partner)."""
    return await count_by_status(session, TaskFilter(frozenset({row.id}), capability))


@router.post("/tasks/retry", response_model=RetryOut, dependencies=[Depends(operator)])
async def retry(
    body: RetryIn,
    sc: Scope = Depends(scope),
    st: AppState = Depends(get_state),
    session: AsyncSession = Depends(db),
) -> RetryOut:
    """Queue the failed (or needs_input) tasks matching the filter again, through run planning."""
    f = TaskFilter(
        await sc.narrow(session, body.partner),
        body.capability,
        body.marketplace.value if body.marketplace else None,
        body.status,
        body.updated_from,
        body.updated_to,
    )
    await release(session)
    res = await retry_matching(st.sessions, st.backend, f, priority=Priority.parse(body.priority))
    return RetryOut(matched=res.matched, jobs_queued=res.jobs_queued, more=res.more)


def _job_out(j: Job) -> JobOut:
    return JobOut(
        id=j.id,
        kind=j.kind,
        partner_id=j.partner_id,
        priority=j.priority.name.lower(),
        status=j.status.value,
        attempts=j.attempts,
        max_attempts=j.max_attempts,
        last_error=j.last_error,
        enqueued_at=j.enqueued_dt,
        started_at=j.started_dt,
        finished_at=j.finished_dt,
    )


@router.get("/jobs", response_model=list[JobOut], dependencies=[Depends(operator)])
async def jobs(
    st: AppState = Depends(get_state),
    status: JobStatus | None = None,
    kind: str | None = Query(None, max_length=64),
    limit: int = Limit,
) -> list[JobOut]:
    """Newest jobs first (the engine's own listing; tasks are the per-partner view)."""
    return [_job_out(j) for j in await st.backend.list_jobs(status=status, kind=kind, limit=limit)]


@router.get("/jobs/stats", response_model=QueueStatsOut, dependencies=[Depends(operator)])
async def job_stats(st: AppState = Depends(get_state)) -> QueueStatsOut:
    return QueueStatsOut(**asdict(await st.backend.stats()))


@router.get("/jobs/{job_id}", response_model=JobOut, dependencies=[Depends(operator)])
async def job(job_id: PathId, st: AppState = Depends(get_state)) -> JobOut:
    found = await st.backend.get(job_id)
    if found is None:
        raise NotFound(f"no job {job_id}")
    return _job_out(found)


@router.post("/jobs/retry", response_model=CountOut, dependencies=[Depends(operator)])
async def jobs_retry(body: JobIdsIn, st: AppState = Depends(get_state)) -> CountOut:
    """Queue dead, failed or cancelled jobs again with fresh attempts."""
    return CountOut(count=await st.backend.retry_dead(body.ids))


@router.post("/jobs/cancel", response_model=CountOut, dependencies=[Depends(operator)])
async def jobs_cancel(body: JobIdsIn, st: AppState = Depends(get_state)) -> CountOut:
    """Cancel queued jobs (running ones finish their attempt)."""
    return CountOut(count=await st.backend.cancel(body.ids))
