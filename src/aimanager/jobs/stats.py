"""Queue statistics computed from job records (the memory backend; SQL computes the same in SQL)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from aimanager.jobs.model import FINISHED, Job, JobStatus, QueueStats
from aimanager.jobs.priority import Priority

THROUGHPUT_WINDOW_S = 60.0


def build_stats(jobs: Iterable[Job], now: float) -> QueueStats:
    """Aggregate a snapshot of jobs into :class:`QueueStats`."""
    stats = QueueStats()
    by_status: Counter[str] = Counter()
    queued_prio: Counter[str] = Counter()
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    breaches: Counter[str] = Counter()
    started: Counter[str] = Counter()
    oldest: float | None = None
    recent = 0
    for job in jobs:
        prio = job.priority.name.lower()
        by_status[job.status.value] += 1
        by_kind[job.kind][job.status.value] += 1
        if job.status is JobStatus.QUEUED:
            queued_prio[prio] += 1
            if job.run_at <= now:
                oldest = job.run_at if oldest is None else min(oldest, job.run_at)
                if now > job.deadline:
                    breaches[prio] += 1
        if job.started_at is not None:
            started[prio] += 1
            if job.started_at > job.deadline:
                breaches[prio] += 1
        if job.status in FINISHED and job.finished_at is not None:
            recent += job.finished_at >= now - THROUGHPUT_WINDOW_S
    stats.by_status = dict(by_status)
    stats.queued_by_priority = {p.name.lower(): queued_prio.get(p.name.lower(), 0) for p in Priority}
    stats.by_kind = {k: dict(v) for k, v in by_kind.items()}
    stats.oldest_ready_wait_s = None if oldest is None else max(0.0, now - oldest)
    stats.throughput_per_s = recent / THROUGHPUT_WINDOW_S
    stats.sla_breaches = {p.name.lower(): breaches.get(p.name.lower(), 0) for p in Priority}
    stats.started_by_priority = {p.name.lower(): started.get(p.name.lower(), 0) for p in Priority}
    return stats
