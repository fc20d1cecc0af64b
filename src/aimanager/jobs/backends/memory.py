"""In-memory twin of the SQL backend: same semantics, one process, no persistence."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from aimanager.jobs.model import (
    FINISHED,
    JOB_BACKOFF,
    JOIN_AHEAD_S,
    MAX_CRASHES,
    Clock,
    Completion,
    EnqueueResult,
    Job,
    JobSpec,
    JobStatus,
    QueueStats,
    Schedule,
    encode_payload,
    system_clock,
)
from aimanager.jobs.pauses import Pause, PauseSet, target
from aimanager.jobs.priority import Priority
from aimanager.jobs.stats import build_stats


class _Key:
    __slots__ = ("burst", "last_claim_at", "rate", "refilled_at", "tokens")

    def __init__(self, joined: float) -> None:
        self.last_claim_at = joined  # a new key joins the rotation at the back (see the SQL backend)
        self.rate: float | None = None
        self.burst: float | None = None
        self.tokens: float | None = None
        self.refilled_at: float | None = None

    def available(self, now: float) -> float:
        if self.rate is None or self.burst is None:
            return float("inf")
        tokens = self.tokens if self.tokens is not None else self.burst
        since = now - (self.refilled_at if self.refilled_at is not None else now)
        return min(self.burst, tokens + since * self.rate)


class MemoryBackend:
    """Jobs in dictionaries; claims follow the SQL backends' order exactly."""

    def __init__(self, clock: Clock = system_clock, rng: random.Random | None = None) -> None:
        self.clock = clock
        self._rng = rng or random.Random()
        self._jobs: dict[int, Job] = {}
        self._keys: dict[str, _Key] = {}
        self._unique: dict[str, int] = {}
        self._ids = itertools.count(1)
        self._wake = asyncio.Event()
        self._schedules: dict[str, Schedule] = {}
        self._pauses: dict[tuple[str, str], Pause] = {}

    async def setup(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def enqueue_many(self, specs: Sequence[JobSpec], *, conn: Any = None) -> EnqueueResult:
        now = self.clock()
        rows = [spec.row(now) for spec in specs]  # validates everything before inserting anything
        ids: list[int] = []
        skipped: list[str] = []
        for row in rows:
            ukey = row["unique_key"]
            if ukey is not None and ukey in self._unique:
                skipped.append(ukey)
                continue
            job_id = next(self._ids)
            row.update(id=job_id, payload=row["payload"])
            self._jobs[job_id] = Job.from_row(row)
            if ukey is not None:
                self._unique[ukey] = job_id
            if row["batch_key"] not in self._keys:
                self._keys[row["batch_key"]] = _Key(now - JOIN_AHEAD_S)
            ids.append(job_id)
        if ids:
            self._wake.set()
        return EnqueueResult(ids=ids, skipped_unique_keys=skipped)

    def _ready(self, now: float, kinds: Sequence[str] | None) -> list[Job]:
        paused = PauseSet.of(list(self._pauses.values()))
        return [
            j
            for j in self._jobs.values()
            if j.status is JobStatus.QUEUED
            and j.run_at <= now
            and (kinds is None or j.kind in kinds)
            and not paused.blocks(j.kind, j.partner_id)
        ]

    async def pause(
        self,
        *,
        kind: str | None = None,
        partner_id: int | None = None,
        reason: str | None = None,
        by: str | None = None,
    ) -> bool:
        key = target(kind, partner_id)
        if key in self._pauses:
            return False
        self._pauses[key] = Pause(*key, reason or None, by or None, self.clock())
        return True

    async def resume(self, *, kind: str | None = None, partner_id: int | None = None) -> bool:
        removed = self._pauses.pop(target(kind, partner_id), None) is not None
        if removed:
            self._wake.set()
        return removed

    async def list_pauses(self) -> list[Pause]:
        return [self._pauses[k] for k in sorted(self._pauses)]

    async def claim(
        self,
        worker_id: str,
        limit: int,
        *,
        lease_s: float,
        kinds: Sequence[str] | None = None,
        max_priority: Priority | None = None,
    ) -> list[Job]:
        now = self.clock()
        ready = self._ready(now, kinds)
        if max_priority is not None:
            ready = [j for j in ready if j.priority <= max_priority]
        for prio in sorted({j.priority for j in ready}):
            at_prio = [j for j in ready if j.priority == prio]
            keys = sorted({j.batch_key for j in at_prio}, key=lambda k: (self._keys[k].last_claim_at, k))
            for key in keys:
                bucket = self._keys[key]
                avail = bucket.available(now)
                if avail < 1:
                    continue
                n = min(limit, int(avail)) if avail != float("inf") else limit
                chosen = sorted((j for j in at_prio if j.batch_key == key), key=lambda j: j.id)[:n]
                for job in chosen:
                    job.status = JobStatus.RUNNING
                    job.worker_id = worker_id
                    job.lease_until = now + lease_s
                    job.attempts += 1
                    job.started_at = now
                    job.queue_wait_ms = (now - job.run_at) * 1000.0
                bucket.last_claim_at = now
                if bucket.rate is not None:
                    bucket.tokens = avail - len(chosen)
                    bucket.refilled_at = now
                return [_copy(j) for j in chosen]
        return []

    def _held(self, worker_id: str, job_id: int, attempts: int | None = None) -> Job | None:
        job = self._jobs.get(job_id)
        if job is None or job.status is not JobStatus.RUNNING or job.worker_id != worker_id:
            return None
        if attempts is not None and job.attempts != attempts:
            return None
        return job

    async def heartbeat(self, worker_id: str, job_ids: Sequence[int], lease_s: float) -> int:
        now = self.clock()
        held = 0
        for job_id in job_ids:
            job = self._held(worker_id, job_id)
            if job is not None:
                job.lease_until = now + lease_s
                held += 1
        return held

    async def complete(self, worker_id: str, completions: Sequence[Completion]) -> int:
        now = self.clock()
        done = 0
        for c in completions:
            job = self._held(worker_id, c.job_id, c.attempts)
            if job is None:
                continue
            job.status = JobStatus.SUCCEEDED
            job.finished_at = now
            job.lease_until = None
            job.run_ms = c.run_ms
            job.result = c.result
            done += 1
        return done

    async def retry_later(
        self,
        worker_id: str,
        job: Job,
        error: str,
        delay: float | None = None,
        payload: dict[str, Any] | None = None,
    ) -> JobStatus | None:
        held = self._held(worker_id, job.id, job.attempts)
        if held is None:
            return None
        if payload is not None:
            held.payload = json.loads(encode_payload(payload))
        now = self.clock()
        held.last_error = error
        held.lease_until = None
        held.worker_id = None
        if held.handler_attempts >= held.max_attempts:
            held.status = JobStatus.DEAD
            held.finished_at = now
        else:
            held.status = JobStatus.QUEUED
            wait = delay if delay is not None else JOB_BACKOFF.delay(held.handler_attempts, self._rng)
            held.run_at = now + wait
            held.deadline = held.run_at + held.priority.start_sla_seconds
        return held.status

    async def snooze(
        self, worker_id: str, job: Job, delay: float, payload: dict[str, Any] | None = None
    ) -> bool:
        held = self._held(worker_id, job.id, job.attempts)
        if held is None:
            return False
        if payload is not None:
            held.payload = json.loads(encode_payload(payload))  # checked and copied as enqueue does
        now = self.clock()
        held.status = JobStatus.QUEUED
        held.attempts -= 1
        held.worker_id = None
        held.lease_until = None
        held.run_at = now + delay
        held.deadline = held.run_at + held.priority.start_sla_seconds
        return True

    async def fail(self, worker_id: str, job: Job, error: str, payload: dict[str, Any] | None = None) -> bool:
        held = self._held(worker_id, job.id, job.attempts)
        if held is None:
            return False
        if payload is not None:
            held.payload = json.loads(encode_payload(payload))
        held.status = JobStatus.FAILED
        held.last_error = error
        held.finished_at = self.clock()
        held.lease_until = None
        return True

    async def release(self, worker_id: str, job_ids: Sequence[int]) -> int:
        n = 0
        for job_id in job_ids:
            job = self._held(worker_id, job_id)
            if job is None:
                continue
            job.status = JobStatus.QUEUED
            job.attempts -= 1
            job.worker_id = None
            job.lease_until = None
            job.started_at = None
            n += 1
        if n:
            self._wake.set()
        return n

    async def recover_expired(self, *, max_crashes: int = MAX_CRASHES) -> int:
        now = self.clock()
        n = 0
        for job in self._jobs.values():
            if job.status is JobStatus.RUNNING and job.lease_until is not None and job.lease_until < now:
                job.crashes += 1
                job.last_error = (
                    f"lease expired (crash {job.crashes}): worker {job.worker_id} stopped heartbeating"
                )
                job.worker_id = None
                job.lease_until = None
                if job.crashes >= max_crashes:
                    job.status = JobStatus.DEAD
                    job.finished_at = now
                else:
                    job.status = JobStatus.QUEUED
                    job.run_at = now
                n += 1
        if n:
            self._wake.set()
        return n

    async def park_idle_keys(self) -> int:
        return 0  # the claim looks at ready jobs, never at idle keys

    async def drained(self) -> bool:
        live = (JobStatus.QUEUED, JobStatus.RUNNING)
        return not any(j.status in live for j in self._jobs.values())

    async def cancel(self, job_ids: Sequence[int]) -> int:
        n = 0
        for job_id in job_ids:
            job = self._jobs.get(job_id)
            if job is not None and job.status is JobStatus.QUEUED:
                job.status = JobStatus.CANCELLED
                job.finished_at = self.clock()
                n += 1
        return n

    async def retry_dead(self, job_ids: Sequence[int]) -> int:
        now = self.clock()
        n = 0
        for job_id in job_ids:
            job = self._jobs.get(job_id)
            if job is None or job.status not in (JobStatus.DEAD, JobStatus.FAILED, JobStatus.CANCELLED):
                continue
            job.status = JobStatus.QUEUED
            job.attempts = 0
            job.crashes = 0
            job.run_at = now
            job.deadline = now + job.priority.start_sla_seconds
            job.finished_at = None
            job.started_at = None
            n += 1
        if n:
            self._wake.set()
        return n

    async def prune(self, older_than_s: float) -> int:
        cutoff = self.clock() - older_than_s
        gone = [
            j.id
            for j in self._jobs.values()
            if j.status in FINISHED and j.finished_at is not None and j.finished_at < cutoff
        ]
        for job_id in gone:
            job = self._jobs.pop(job_id)
            if job.unique_key is not None:
                self._unique.pop(job.unique_key, None)
        used = {j.batch_key for j in self._jobs.values()}
        for key in [k for k, b in self._keys.items() if b.rate is None and k not in used]:
            del self._keys[key]
        return len(gone)

    async def set_schedule(self, name: str, job: JobSpec, every_s: float, *, first_in: float = 0.0) -> None:
        if every_s <= 0:
            raise ValueError("every_s must be positive")
        job.row(self.clock())  # validated as an enqueue would
        old = self._schedules.get(name)
        next_at = old.next_at if old is not None and old.every_s == every_s else self.clock() + first_in
        self._schedules[name] = Schedule(
            name, job, every_s, next_at, True, old.last_fired_at if old else None, old.fired if old else 0
        )

    async def remove_schedule(self, name: str) -> bool:
        return self._schedules.pop(name, None) is not None

    async def list_schedules(self) -> list[Schedule]:
        return [self._schedules[n] for n in sorted(self._schedules)]

    async def fire_due_schedules(self) -> int:
        now = self.clock()
        due = [s for s in self._schedules.values() if s.enabled and s.next_at <= now]
        specs = []
        for sched in due:  # no await in between: atomic like the SQL compare-and-set
            specs.append(sched.firing(sched.next_at))
            self._schedules[sched.name] = replace(
                sched, next_at=now + sched.every_s, last_fired_at=now, fired=sched.fired + 1
            )
        return len((await self.enqueue_many(specs)).ids) if specs else 0

    async def get(self, job_id: int) -> Job | None:
        job = self._jobs.get(job_id)
        return None if job is None else _copy(job)

    async def list_jobs(
        self, *, status: JobStatus | None = None, kind: str | None = None, limit: int = 50
    ) -> list[Job]:
        jobs = [
            j
            for j in self._jobs.values()
            if (status is None or j.status is status) and (kind is None or j.kind == kind)
        ]
        return [_copy(j) for j in sorted(jobs, key=lambda j: -j.id)[:limit]]

    async def stats(self) -> QueueStats:
        return build_stats(list(self._jobs.values()), self.clock())

    async def busy_partners(self, kinds: Sequence[str]) -> set[int]:
        wanted = set(kinds)
        active = (JobStatus.QUEUED, JobStatus.RUNNING)
        return {
            j.partner_id
            for j in self._jobs.values()
            if j.partner_id is not None and j.kind in wanted and j.status in active
        }

    async def set_rate_limit(self, key: str, rate: float | None, burst: float | None = None) -> None:
        bucket = self._keys.get(key) or self._keys.setdefault(key, _Key(self.clock() - JOIN_AHEAD_S))
        bucket.rate = rate
        bucket.burst = (burst if burst is not None else max(1.0, rate or 1.0)) if rate else None
        bucket.tokens = bucket.burst
        bucket.refilled_at = self.clock()

    async def wait_for_work(self, timeout: float) -> None:
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that races its
        # timeout, and a worker shutting down would then wait here forever.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wake.wait()
        self._wake.clear()


def _copy(job: Job) -> Job:
    return Job(**{name: getattr(job, name) for name in Job.__slots__})
