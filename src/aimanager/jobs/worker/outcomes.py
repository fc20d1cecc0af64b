"""How a worker writes each job's outcome: a success joins the next coalesced ack; a failed attempt is
retried, snoozed, failed for good or dead-lettered — written until the store takes it, since the job
stays held (its lease renewed) meanwhile. One line per outcome on the outcome logger (see ``logs``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aimanager.jobs.backends.protocol import Backend
from aimanager.jobs.errors import PermanentFailure, Retry, Snooze
from aimanager.jobs.model import Completion, Job
from aimanager.jobs.worker.acks import AcksAndLeases
from aimanager.jobs.worker.config import WorkerMetrics
from aimanager.logs import OUTCOME_LOGGER, get_logger
from aimanager.redact import redact
from aimanager.retry import Backoff

log = get_logger("aimanager.jobs.worker")
# One line per job outcome (done, retried, failed, dead): what a quiet worker prints (see logs.py).
outcome = get_logger(OUTCOME_LOGGER)


class Outcomes:
    """Acks, failures and their log lines for one worker."""

    def __init__(
        self,
        backend: Backend,
        worker_id: str,
        metrics: WorkerMetrics,
        acks: AcksAndLeases,
        store_backoff: Backoff,
        stopping: asyncio.Event,
        forget: Callable[[list[int]], None],
    ) -> None:
        self.backend = backend
        self.worker_id = worker_id
        self.metrics = metrics
        self.acks = acks
        self._store_backoff = store_backoff
        self._stopping = stopping
        # A failed attempt's outcome written, the row is no longer this worker's: its lease is not
        # renewed, and a renewal that finds it gone (before its task has ended) is not a lost lease.
        self._forget = forget
        # Bound once (logging is configured before a worker is built): the module's lazy proxy binds a
        # new logger on every call, a few microseconds per job on the ``job.done`` line alone.
        self._outcome = outcome.bind()

    def ack(self, job: Job, run_ms: float, result: Any) -> None:
        if result is not None:
            try:
                json.dumps(result)
            except (TypeError, ValueError):
                result = {"repr": repr(result)[:500]}
        self.metrics.succeeded += 1
        self.metrics.run_ms.append(run_ms)
        self.acks.ack(Completion(job.id, job.attempts, run_ms, result))
        self._outcome.info("job.done", job_id=job.id, kind=job.kind, partner=job.partner_id, ms=round(run_ms))

    async def settle_failure(self, job: Job, exc: BaseException) -> None:
        """Write a failed attempt's outcome; while the store is down, retry (the job stays held, so
        its lease is renewed) until the write lands or the worker shuts down."""
        tries = 0
        while True:
            try:
                await self._settle_once(job, exc)
                self._forget([job.id])
                return
            except Exception as store_exc:
                tries += 1
                self.metrics.store_errors += 1
                log.error("job.settle_failed", job_id=job.id, error=str(store_exc)[:300], tries=tries)
                if self._stopping.is_set():
                    return  # the lease brings the job back
                await asyncio.sleep(self._store_backoff.delay(tries))

    async def _settle_once(self, job: Job, exc: BaseException) -> None:
        if isinstance(exc, PermanentFailure):
            await self.fail(job, redact(f"{type(exc).__name__}: {exc}"), exc.payload)
            return
        if isinstance(exc, Snooze):
            if await self.backend.snooze(self.worker_id, job, exc.delay, exc.payload):
                self.metrics.snoozed += 1
            return
        delay, payload = (exc.delay, exc.payload) if isinstance(exc, Retry) else (None, None)
        reason = redact(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        status = await self.backend.retry_later(self.worker_id, job, reason, delay, payload)
        if status is not None and status.value == "dead":
            self.metrics.dead += 1
            self._outcome.warning("job.dead", **self._line(job), error=reason)
        else:
            self.metrics.retried += 1
            self._outcome.info("job.retried", **self._line(job), attempt=job.attempts, error=reason[:200])

    async def fail(self, job: Job, reason: str, payload: dict[str, Any] | None = None) -> None:
        await self.backend.fail(self.worker_id, job, reason, payload)
        self.metrics.failed += 1  # after the write: a retried write is counted once
        self._outcome.warning("job.failed", **self._line(job), error=reason)

    def _line(self, job: Job) -> dict[str, Any]:
        """The fields of a job's outcome line: which job, whose, and how long this attempt ran."""
        ms = (self.backend.clock() - job.started_at) * 1000.0 if job.started_at is not None else None
        return {"job_id": job.id, "kind": job.kind, "partner": job.partner_id, "ms": ms and round(ms)}
