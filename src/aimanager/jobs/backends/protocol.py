"""The ``Backend`` protocol: the small set of atomic operations every job store implements.

Three implementations share one contract test suite: ``MemoryBackend`` (tests, the in-process twin),
``SQLBackend`` on SQLite (the embedded default) and on PostgreSQL (many workers on many hosts).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from aimanager.jobs.model import (
    Clock,
    Completion,
    EnqueueResult,
    Job,
    JobSpec,
    JobStatus,
    QueueStats,
    Schedule,
)
from aimanager.jobs.pauses import Pause
from aimanager.jobs.priority import Priority


class Backend(Protocol):
    """Atomic job operations. Every write that ends an attempt is fenced by (worker id, attempt)."""

    clock: Clock

    async def setup(self) -> None:
        """Prepare connections and wake-up channels (idempotent)."""

    async def close(self) -> None:
        """Release connections."""

    async def enqueue_many(self, specs: Sequence[JobSpec], *, conn: Any = None) -> EnqueueResult:
        """Insert jobs in bulk; a spec whose unique key exists is skipped and reported.

        ``conn``: an open SQLAlchemy ``AsyncConnection`` to join the caller's transaction (SQL only);
        the caller commits.
        """

    async def claim(
        self,
        worker_id: str,
        limit: int,
        *,
        lease_s: float,
        kinds: Sequence[str] | None = None,
        max_priority: Priority | None = None,
    ) -> list[Job]:
        """Lease up to ``limit`` ready jobs that share one batch key.

        The best ready priority wins; within it the least recently served key that has a token in its
        bucket. ``max_priority`` (e.g. HIGH) restricts the claim to that priority or more urgent.
        """

    async def heartbeat(self, worker_id: str, job_ids: Sequence[int], lease_s: float) -> int:
        """Extend the leases of the worker's running jobs; returns how many it still holds."""

    async def complete(self, worker_id: str, completions: Sequence[Completion]) -> int:
        """Mark runs succeeded; returns how many acks were accepted (fenced ones are ignored)."""

    async def retry_later(
        self,
        worker_id: str,
        job: Job,
        error: str,
        delay: float | None = None,
        payload: dict[str, Any] | None = None,
    ) -> JobStatus | None:
        """End a failed attempt: ``queued`` after a backoff (or ``delay``), or ``dead`` when exhausted;
        the payload replaced by ``payload`` if given (what is left to do).

        Returns the new status, or None if the worker no longer held the job.
        """

    async def snooze(
        self, worker_id: str, job: Job, delay: float, payload: dict[str, Any] | None = None
    ) -> bool:
        """Put a running job back to wait ``delay`` seconds: ``queued``, the attempt not counted, its
        last error kept, its payload replaced by ``payload`` if given. Returns False if the worker no
        longer held the job."""

    async def fail(self, worker_id: str, job: Job, error: str, payload: dict[str, Any] | None = None) -> bool:
        """End the job as ``failed`` (no further attempts), its payload replaced by ``payload`` if given."""

    async def release(self, worker_id: str, job_ids: Sequence[int]) -> int:
        """Give jobs back unrun (graceful shutdown): ``queued`` now, the attempt not counted."""

    async def recover_expired(self, *, max_crashes: int = ...) -> int:
        """Requeue running jobs whose lease has expired: a crash, counted in ``crashes`` and not
        against ``max_attempts``; the job ends ``dead`` at its ``max_crashes``-th crash (default
        ``model.MAX_CRASHES``)."""

    async def park_idle_keys(self) -> int:
        """Set aside the batch keys with no queued and no running job, so claims pass over them;
        an enqueue brings a key back. Returns how many were parked (0 where claims never scan keys)."""

    async def drained(self) -> bool:
        """True when no job is queued or running (cheap: ``--until-idle`` asks it often)."""

    async def cancel(self, job_ids: Sequence[int]) -> int:
        """Cancel queued jobs; running ones finish their attempt."""

    async def retry_dead(self, job_ids: Sequence[int]) -> int:
        """Queue dead, failed or cancelled jobs again with fresh attempts."""

    async def prune(self, older_than_s: float) -> int:
        """Delete finished jobs that finished more than ``older_than_s`` ago, then the batch keys no
        job uses any more (keeping those with a rate limit); returns the jobs deleted."""

    async def set_schedule(self, name: str, job: JobSpec, every_s: float, *, first_in: float = 0.0) -> None:
        """Enqueue ``job`` every ``every_s`` seconds, first ``first_in`` seconds from now (replacing a
        schedule of that name; its next firing is kept if the period did not change)."""

    async def remove_schedule(self, name: str) -> bool:
        """Stop a schedule; False if there was none of that name."""

    async def list_schedules(self) -> list[Schedule]:
        """Every schedule, by name."""

    async def fire_due_schedules(self) -> int:
        """Enqueue the job of every schedule that is due, exactly once per period however many
        workers call this at once; a schedule that missed several periods fires once. Returns the
        jobs enqueued."""

    async def pause(
        self,
        *,
        kind: str | None = None,
        partner_id: int | None = None,
        reason: str | None = None,
        by: str | None = None,
    ) -> bool:
        """Pause a job kind or a partner (exactly one): claims pass over its queued jobs until it is
        resumed; running ones finish. False if it was paused already. See ``jobs.pauses``."""

    async def resume(self, *, kind: str | None = None, partner_id: int | None = None) -> bool:
        """Resume a paused kind or partner (and wake the workers); False if it was not paused."""

    async def list_pauses(self) -> list[Pause]:
        """Every pause in force, by scope and value."""

    async def get(self, job_id: int) -> Job | None:
        """One job by id."""

    async def list_jobs(
        self, *, status: JobStatus | None = None, kind: str | None = None, limit: int = 50
    ) -> list[Job]:
        """Newest jobs first, optionally filtered."""

    async def stats(self) -> QueueStats:
        """Depths, oldest wait, throughput and SLA breaches."""

    async def busy_partners(self, kinds: Sequence[str]) -> set[int]:
        """Partners with a queued or running job of one of ``kinds`` (a dependency gate for callers)."""

    async def set_rate_limit(self, key: str, rate: float | None, burst: float | None = None) -> None:
        """Limit claims of ``key`` to ``rate`` jobs per second with ``burst`` (None removes it)."""

    async def wait_for_work(self, timeout: float) -> None:
        """Return when new work may be ready (a wake-up) or after ``timeout`` seconds."""
