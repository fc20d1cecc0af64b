"""Attempts lost to crashes (an expired lease) are counted apart from handler errors, on every backend.

A deploy that SIGKILLs workers must not use up a job's ``max_attempts``; a poison job that kills every
worker that runs it must still end, after ``max_crashes`` crashes; and the crashed worker, if it was
only stalled, can no longer write the outcome of the attempt it lost.
"""

from __future__ import annotations

from typing import Any

from aimanager.jobs import Completion, JobSpec, JobStatus
from aimanager.jobs.model import MAX_CRASHES

LEASE = 15.0


def spec(**kw: Any) -> JobSpec:
    return JobSpec(kind="k", partner_id=1, **kw)


async def crash(backend: Any, clock: Any, worker: str, **kw: Any) -> Any:
    """Claim the job as ``worker`` and let its lease expire (the worker was killed)."""
    [job] = await backend.claim(worker, 1, lease_s=LEASE)
    clock.advance(LEASE + 1)
    assert await backend.recover_expired(**kw) == 1
    return job


async def test_a_crash_does_not_use_up_an_attempt(backend: Any, clock: Any) -> None:
    [job_id] = (await backend.enqueue_many([spec(max_attempts=1)])).ids
    await crash(backend, clock, "killed")
    stored = await backend.get(job_id)
    assert stored.status is JobStatus.QUEUED
    assert (stored.attempts, stored.crashes, stored.handler_attempts) == (1, 1, 0)
    assert stored.last_error.startswith("lease expired (crash 1): worker killed")
    # Its one handler attempt is still there: a handler error now ends it, as max_attempts=1 says.
    [job] = await backend.claim("w2", 1, lease_s=LEASE)
    assert (job.attempts, job.crashes) == (2, 1)
    assert await backend.retry_later("w2", job, "boom") is JobStatus.DEAD
    dead = await backend.get(job_id)
    assert dead.status is JobStatus.DEAD and dead.last_error == "boom"


async def test_a_job_that_keeps_crashing_its_workers_ends_dead(backend: Any, clock: Any) -> None:
    [job_id] = (await backend.enqueue_many([spec(max_attempts=3)])).ids
    for n in range(1, MAX_CRASHES):
        await crash(backend, clock, f"w{n}")
        assert (await backend.get(job_id)).status is JobStatus.QUEUED
    await crash(backend, clock, "last")
    dead = await backend.get(job_id)
    assert dead.status is JobStatus.DEAD and dead.finished_at is not None
    assert dead.crashes == MAX_CRASHES and dead.handler_attempts == 0
    assert f"crash {MAX_CRASHES}" in dead.last_error


async def test_max_crashes_is_the_callers(backend: Any, clock: Any) -> None:
    [job_id] = (await backend.enqueue_many([spec()])).ids
    await crash(backend, clock, "w1", max_crashes=2)
    await crash(backend, clock, "w2", max_crashes=2)
    assert (await backend.get(job_id)).status is JobStatus.DEAD


async def test_crashes_and_handler_errors_add_up_to_their_own_bounds(backend: Any, clock: Any) -> None:
    [job_id] = (await backend.enqueue_many([spec(max_attempts=2)])).ids
    [job] = await backend.claim("w", 1, lease_s=LEASE)
    assert job.id == job_id
    assert await backend.retry_later("w", job, "first", delay=0.0) is JobStatus.QUEUED
    await crash(backend, clock, "killed")
    await crash(backend, clock, "killed-again")
    [job] = await backend.claim("w", 1, lease_s=LEASE)
    assert (job.attempts, job.crashes, job.handler_attempts) == (4, 2, 2)
    assert await backend.retry_later("w", job, "second") is JobStatus.DEAD


async def test_the_crashed_worker_cannot_end_the_attempt_after_it(backend: Any, clock: Any) -> None:
    [job_id] = (await backend.enqueue_many([spec()])).ids
    stalled = await crash(backend, clock, "stalled")
    [again] = await backend.claim("stalled", 1, lease_s=LEASE)  # the same worker id claims it anew
    assert again.attempts == stalled.attempts + 1
    assert await backend.complete("stalled", [Completion(job_id, stalled.attempts, 1.0)]) == 0
    assert await backend.retry_later("stalled", stalled, "late") is None
    assert (await backend.get(job_id)).status is JobStatus.RUNNING
    assert await backend.complete("stalled", [Completion(job_id, again.attempts, 1.0)]) == 1


async def test_retry_dead_starts_crashes_over(backend: Any, clock: Any) -> None:
    [job_id] = (await backend.enqueue_many([spec()])).ids
    for n in range(MAX_CRASHES):
        await crash(backend, clock, f"w{n}")
    assert await backend.retry_dead([job_id]) == 1
    fresh = await backend.get(job_id)
    assert fresh.status is JobStatus.QUEUED and (fresh.attempts, fresh.crashes) == (0, 0)
