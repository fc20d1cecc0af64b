"""The worker: one asyncio process running up to N jobs at once from a backend.

It claims keyed batches, runs handlers, acknowledges successes in coalesced bulk writes, renews its
leases with a heartbeat, requeues other workers' expired leases, and shuts down gracefully: on
SIGTERM/SIGINT it stops claiming, lets running jobs finish within a timeout and releases the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import json
import math
import os
import signal
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from aimanager.domain.enums import Priority
from aimanager.jobs.backend import Backend
from aimanager.jobs.errors import PermanentFailure, Retry, UnknownJobKind
from aimanager.jobs.model import Completion, Job
from aimanager.jobs.registry import HandlerSpec, Registry
from aimanager.logs import get_logger

log = get_logger("aimanager.jobs.worker")


@dataclass(slots=True)
class WorkerConfig:
    """Tuning of one worker process."""

    concurrency: int = 10
    kinds: list[str] | None = None
    # A killed worker's jobs start again within lease + lease/4 (the reaper's period): 12.5 s.
    lease_s: float = 10.0
    # Share of the slots kept for urgent and high work: a worker full of 5-minute-SLA jobs still
    # starts an urgent job at once.
    urgent_reserve: float = 0.1
    # Urgent jobs may add this share of ``concurrency`` on top of every other slot: an urgent job
    # starts at once even when the headroom is held by other urgent or high jobs that wait on a
    # marketplace's rate limit. Urgent work is small by design, so the burst stays bounded.
    urgent_burst: float = 1.0
    shutdown_timeout_s: float = 30.0
    claim_batch: int = 100
    # Jobs claimed ahead of free slots (leased and heartbeated), so a finishing job's slot is refilled
    # at once rather than after a claim round trip. None: a quarter of ``concurrency``.
    prefetch: int | None = None
    poll_s: float | None = None  # default: the backend's poll interval


@dataclass(slots=True)
class WorkerMetrics:
    """Counters and timings of one worker's run."""

    claimed: int = 0
    succeeded: int = 0
    retried: int = 0
    failed: int = 0
    dead: int = 0
    claims: int = 0
    queue_wait_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    run_ms: list[float] = field(default_factory=list)


def new_worker_id() -> str:
    """host:pid:random — unique per process start, readable in ``jobs list``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Runs jobs from ``backend`` with the handlers of ``registry``."""

    def __init__(
        self,
        backend: Backend,
        registry: Registry,
        config: WorkerConfig | None = None,
        *,
        worker_id: str | None = None,
    ) -> None:
        self.backend = backend
        self.registry = registry
        self.config = config or WorkerConfig()
        self.worker_id = worker_id or new_worker_id()
        self.metrics = WorkerMetrics()
        self._inflight: dict[int, Job] = {}
        self._tasks: dict[asyncio.Task[None], list[int]] = {}
        self._acks: list[Completion] = []
        self._acks_pending: set[int] = set()
        self._ack_event = asyncio.Event()
        # Acks and lease renewals update overlapping rows (a job being acked is still renewed); run
        # concurrently on PostgreSQL they lock those rows in different orders and can deadlock. Run
        # one at a time, a renewal also never counts a job whose ack is half written as lost.
        self._row_writes = asyncio.Lock()
        self._ready: list[tuple[int, int, HandlerSpec, Job]] = []  # prefetched, by priority
        self._seq = itertools.count()
        self._running = 0  # jobs whose handler is running
        self._headroom = max(1, math.ceil(self.config.concurrency * self.config.urgent_reserve))
        self._burst = max(0, math.ceil(self.config.concurrency * self.config.urgent_burst))
        cfg_prefetch = self.config.prefetch
        self._prefetch = cfg_prefetch if cfg_prefetch is not None else max(1, self.config.concurrency // 4)
        self._nudge = asyncio.Event()  # a slot freed, work may have arrived, or stop
        self._woke = False
        self._stopping = asyncio.Event()
        poll = self.config.poll_s
        self._poll_s = poll if poll is not None else float(getattr(backend, "poll_interval", 0.1))
        kinds = self.config.kinds
        self._kinds = kinds if kinds else None
        if self._kinds:
            registry.check(self._kinds)
        self._caps = registry.caps

    def stop(self) -> None:
        """Ask the worker to stop claiming and shut down gracefully."""
        self._stopping.set()
        self._nudge.set()

    async def run(self, *, until_idle: bool = False, install_signals: bool = False) -> WorkerMetrics:
        """Run until :meth:`stop` (or a signal), or until no work is left when ``until_idle``."""
        loop = asyncio.get_running_loop()
        if install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.stop)
        await self.backend.setup()
        await self.backend.recover_expired()
        log.info("worker.started", worker_id=self.worker_id, concurrency=self.config.concurrency)
        helpers = [
            asyncio.create_task(self._heartbeat_loop(), name="heartbeat"),
            asyncio.create_task(self._reaper_loop(), name="reaper"),
            asyncio.create_task(self._ack_loop(), name="acks"),
            asyncio.create_task(self._wake_loop(), name="wake"),
        ]
        try:
            await self._claim_loop(until_idle)
        finally:
            await self._shutdown(helpers)
            if install_signals:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)
        return self.metrics

    # -- claiming ------------------------------------------------------------------------------

    async def _claim_loop(self, until_idle: bool) -> None:
        cfg = self.config
        # The worker holds up to ``concurrency`` running jobs plus ``prefetch`` claimed ahead; urgent
        # and high jobs may also take ``headroom`` extra slots, so a worker full of 5-minute-SLA work
        # still starts an urgent job at once while regular work keeps all N slots.
        capacity = cfg.concurrency + self._prefetch
        # Refill in batches (a claim costs the same for 1 job as for 50) while prefetched jobs keep
        # the slots busy; claim at once when nothing is waiting.
        low_water = max(1, min(cfg.claim_batch, max(self._prefetch // 2, cfg.concurrency // 10)))
        loop = asyncio.get_running_loop()
        gather_until = 0.0
        next_idle_check = 0.0
        while not self._stopping.is_set():
            held = len(self._inflight)
            if held < capacity:
                free = capacity - held
                if free < low_water and self._ready:
                    await self._pause(None)
                    continue
                if free < low_water and self._running and loop.time() < gather_until:
                    # Short jobs are finishing: a couple of ms gathers a batch's worth of room.
                    await self._pause(0.002)
                    continue
                gather_until = loop.time() + 0.005
                self._woke = False  # this claim looks at the queue anyway
                if await self._claim(min(free, cfg.claim_batch), None):
                    continue
                if until_idle and not self._inflight and loop.time() >= next_idle_check:
                    if await self._queue_drained():
                        return
                    next_idle_check = loop.time() + 0.2
                await self._pause(None)
                continue
            room_high = capacity + self._headroom - held
            if self._woke and room_high + self._burst > 0:
                # Full, and new work may have arrived (a wake-up or a poll tick): look for urgent
                # and high jobs for the headroom slots, then for urgent jobs alone for the burst.
                self._woke = False
                if room_high > 0:
                    claimed = await self._claim(room_high, Priority.HIGH)
                else:
                    claimed = await self._claim(room_high + self._burst, Priority.URGENT)
                if claimed:
                    continue
            await self._pause(None)

    def _claimable_kinds(self) -> list[str] | None:
        """The kinds this worker may claim now: its kinds less those at their ``max_running`` cap
        (None: any kind)."""
        if not self._caps:
            return self._kinds
        held: dict[str, int] = defaultdict(int)
        for job in self._inflight.values():
            held[job.kind] += 1
        full = {kind for kind, cap in self._caps.items() if held[kind] >= cap}
        if not full:
            return self._kinds
        return [k for k in (self._kinds or self.registry.kinds) if k not in full]

    async def _claim(self, limit: int, max_priority: Priority | None) -> bool:
        kinds = self._claimable_kinds()
        if kinds is not None and not kinds:
            return False  # every kind is at its cap: a finishing job nudges the loop
        jobs = await self.backend.claim(
            self.worker_id,
            limit,
            lease_s=self.config.lease_s,
            kinds=kinds,
            max_priority=max_priority,
        )
        if jobs:
            self._dispatch(jobs)
        return bool(jobs)

    async def _pause(self, timeout: float | None) -> None:
        """Wait until something changes: a slot frees, work may have arrived, stop, or ``timeout``.

        Signals that came while the loop was busy leave the event set, so nothing is missed.
        """
        if not self._nudge.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._nudge.wait()
        self._nudge.clear()

    async def _wake_loop(self) -> None:
        # One long-lived waiter on the backend's wake-up channel (NOTIFY, in-process event) that
        # also ticks every poll interval, so the claim loop never creates tasks just to wait.
        while True:
            await self.backend.wait_for_work(self._poll_s)
            self._woke = True
            self._nudge.set()

    async def _queue_drained(self) -> bool:
        await self._flush_acks()
        stats = await self.backend.stats()
        return not stats.by_status.get("queued") and not stats.by_status.get("running")

    def _dispatch(self, jobs: list[Job]) -> None:
        self.metrics.claims += 1
        self.metrics.claimed += len(jobs)
        by_kind: dict[str, list[Job]] = defaultdict(list)
        for job in jobs:
            self._inflight[job.id] = job
            by_kind[job.kind].append(job)
        for kind, group in by_kind.items():
            try:
                spec = self.registry.handler(kind)
            except UnknownJobKind as exc:
                for job in group:
                    self._spawn(self._fail(job, str(exc)), [job.id])
                continue
            if spec.batch:
                for i in range(0, len(group), spec.max_batch):
                    chunk = group[i : i + spec.max_batch]
                    self._record_start(chunk)
                    self._spawn(self._run_batch(spec, chunk), [j.id for j in chunk])
            else:
                for job in group:
                    heapq.heappush(self._ready, (int(job.priority), next(self._seq), spec, job))
        self._start_ready()

    def _start_ready(self) -> None:
        """Start prefetched jobs while slots are free (urgent and high may use the headroom)."""
        while self._ready:
            prio, _, spec, job = self._ready[0]
            limit = self.config.concurrency
            if prio <= Priority.HIGH:
                limit += self._headroom + (self._burst if prio == Priority.URGENT else 0)
            if self._running >= limit:
                return
            heapq.heappop(self._ready)
            self._record_start([job])
            self._spawn(self._run_one(spec, job), [job.id])

    def _record_start(self, jobs: list[Job]) -> None:
        now = self.backend.clock()
        for job in jobs:
            self.metrics.queue_wait_ms[job.priority.name.lower()].append((now - job.run_at) * 1000.0)

    def _spawn(self, coro: Coroutine[Any, Any, None], job_ids: list[int]) -> None:
        task = asyncio.create_task(coro)
        self._tasks[task] = job_ids
        self._running += len(job_ids)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        job_ids = self._tasks.pop(task, [])
        self._running -= len(job_ids)
        for job_id in job_ids:
            self._inflight.pop(job_id, None)
        self._start_ready()
        self._nudge.set()

    # -- running -------------------------------------------------------------------------------

    async def _call(self, spec: HandlerSpec, arg: Any) -> Any:
        if spec.timeout_s is None:
            return await spec.func(arg)
        async with asyncio.timeout(spec.timeout_s):
            return await spec.func(arg)

    async def _run_one(self, spec: HandlerSpec, job: Job) -> None:
        started = time.perf_counter()
        try:
            result = await self._call(spec, job)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            await self._settle_failure(job, exc)
            return
        self._ack(job, (time.perf_counter() - started) * 1000.0, result)

    async def _run_batch(self, spec: HandlerSpec, jobs: list[Job]) -> None:
        started = time.perf_counter()
        try:
            failures = await self._call(spec, jobs) or {}
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            failures = {job.id: exc for job in jobs}
        elapsed = (time.perf_counter() - started) * 1000.0
        for job in jobs:
            failure = failures.get(job.id)
            if failure is None:
                self._ack(job, elapsed, None)
            else:
                await self._settle_failure(job, failure)

    def _ack(self, job: Job, run_ms: float, result: Any) -> None:
        if result is not None:
            try:
                json.dumps(result)
            except (TypeError, ValueError):
                result = {"repr": repr(result)[:500]}
        self.metrics.succeeded += 1
        self.metrics.run_ms.append(run_ms)
        self._acks.append(Completion(job.id, job.attempts, run_ms, result))
        self._acks_pending.add(job.id)
        self._ack_event.set()

    async def _settle_failure(self, job: Job, exc: BaseException) -> None:
        try:
            if isinstance(exc, PermanentFailure):
                await self._fail(job, f"{type(exc).__name__}: {exc}")
                return
            delay = exc.delay if isinstance(exc, Retry) else None
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            status = await self.backend.retry_later(self.worker_id, job, reason, delay)
            if status is not None and status.value == "dead":
                self.metrics.dead += 1
                log.warning("job.dead", job_id=job.id, kind=job.kind, error=reason)
            else:
                self.metrics.retried += 1
        except Exception as store_exc:  # the store is down: the lease will bring the job back
            log.error("job.settle_failed", job_id=job.id, error=str(store_exc))

    async def _fail(self, job: Job, reason: str) -> None:
        self.metrics.failed += 1
        log.warning("job.failed", job_id=job.id, kind=job.kind, error=reason)
        await self.backend.fail(self.worker_id, job, reason)

    # -- background loops ------------------------------------------------------------------------

    async def _flush_acks(self) -> None:
        if not self._acks:
            return
        batch, self._acks = self._acks, []
        try:
            async with self._row_writes:
                await self.backend.complete(self.worker_id, batch)
        except Exception as exc:
            self._acks = batch + self._acks  # keep them: the next flush tries again
            log.error("job.ack_failed", count=len(batch), error=str(exc))
            await asyncio.sleep(0.5)
            return
        for c in batch:
            self._acks_pending.discard(c.job_id)

    async def _ack_loop(self) -> None:
        while True:
            await self._ack_event.wait()
            # Coalesce: one write per ~10 ms of completions instead of one per finished job.
            if len(self._acks) < self.config.claim_batch:
                await asyncio.sleep(0.01)
            self._ack_event.clear()
            await self._flush_acks()

    async def _renew_leases(self) -> None:
        ids = list(self._inflight) + list(self._acks_pending)
        if not ids:
            return
        try:
            async with self._row_writes:
                held = await self.backend.heartbeat(self.worker_id, ids, self.config.lease_s)
        except Exception as exc:
            log.error("worker.heartbeat_failed", error=str(exc))
            return
        # Jobs acked while this renewal waited for its turn are no longer 'running': they are not lost.
        still = sum(1 for i in ids if i in self._inflight or i in self._acks_pending)
        if held < still:
            log.warning("worker.leases_lost", held=held, expected=still)

    async def _heartbeat_loop(self) -> None:
        interval = self.config.lease_s / 3.0
        while True:
            await asyncio.sleep(interval)
            await self._renew_leases()

    async def _reaper_loop(self) -> None:
        interval = self.config.lease_s / 4.0
        while True:
            await asyncio.sleep(interval)
            # Renew our own leases first: after the event loop stalled longer than a lease (a CPU
            # burst, a slow disk), this worker must not requeue the jobs it is running itself.
            await self._renew_leases()
            try:
                n = await self.backend.recover_expired()
            except Exception as exc:
                log.error("worker.reaper_failed", error=str(exc))
                continue
            if n:
                log.warning("jobs.recovered", count=n)

    async def _shutdown(self, helpers: list[asyncio.Task[None]]) -> None:
        prefetched = [job.id for *_, job in self._ready]
        self._ready.clear()
        if prefetched:
            released = await self.backend.release(self.worker_id, prefetched)
            log.info("worker.released", count=released)
        for job_id in prefetched:
            self._inflight.pop(job_id, None)
        tasks = list(self._tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.config.shutdown_timeout_s)
            unfinished = [job_id for t in pending for job_id in self._tasks.get(t, [])]
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            if unfinished:
                released = await self.backend.release(self.worker_id, unfinished)
                log.info("worker.released", count=released)
        await self._flush_acks()
        for h in helpers:
            h.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        log.info("worker.stopped", worker_id=self.worker_id, succeeded=self.metrics.succeeded)
