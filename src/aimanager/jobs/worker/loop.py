"""The worker: one asyncio process running up to N jobs at once from a backend.

It claims keyed batches into its slots (``slots``), runs handlers, acknowledges successes in coalesced
bulk writes and renews its leases (``acks``), requeues other workers' expired leases
(``maintenance``), and shuts down gracefully: on SIGTERM/SIGINT it stops claiming, lets running jobs
finish within a timeout and releases the rest.

It survives its database: a claim, ack, heartbeat or settle failing on a lost connection is retried
with backoff (the pool reconnects), and jobs keep their leases while their writes wait; ``alive`` tells
a health check that the claim loop still turns.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aimanager.jobs.backends.protocol import Backend
from aimanager.jobs.errors import UnknownJobKind
from aimanager.jobs.model import Job
from aimanager.jobs.priority import Priority
from aimanager.jobs.registry import HandlerSpec, Registry
from aimanager.jobs.worker.acks import AcksAndLeases
from aimanager.jobs.worker.config import WorkerConfig, WorkerMetrics, new_worker_id
from aimanager.jobs.worker.maintenance import (
    fire_schedules_loop,
    prune_loop,
    recover_expired_leases_loop,
)
from aimanager.jobs.worker.outcomes import Outcomes
from aimanager.jobs.worker.slots import Slots
from aimanager.logs import get_logger
from aimanager.retry import Backoff

log = get_logger("aimanager.jobs.worker")

# How long cancelled handlers and helpers get to finish at shutdown (see ``_shutdown``).
CANCEL_GRACE_S = 5.0


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
        self.slots = Slots(self.config, registry)
        self.acks = AcksAndLeases(
            backend,
            self.worker_id,
            lease_s=self.config.lease_s,
            claim_batch=self.config.claim_batch,
            held=self.slots.held,
        )
        self._tasks: dict[asyncio.Task[None], list[int]] = {}
        self._nudge = asyncio.Event()  # a slot freed, work may have arrived, or stop
        self._woke = False
        self._after_full_claim = False  # the last claim filled its whole batch
        self._stopping = asyncio.Event()
        poll = self.config.poll_s
        self._poll_s = poll if poll is not None else float(getattr(backend, "poll_interval", 0.1))
        self._store_backoff = Backoff(base=0.05, cap=self.config.store_retry_cap_s)
        self.outcomes = Outcomes(
            backend,
            self.worker_id,
            self.metrics,
            self.acks,
            self._store_backoff,
            self._stopping,
            self.slots.forget,
        )
        self.loop_turned_at = time.monotonic()  # last turn of the claim loop, for /healthz
        self.store_failing_since: float | None = None  # first of the current run of failed calls
        self._store_failures = 0

    def alive(self, stale_s: float = 30.0) -> bool:
        """True while the claim loop turns (it turns at least every poll interval when idle)."""
        return time.monotonic() - self.loop_turned_at < max(stale_s, 4 * self._poll_s)

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
        await self._until_stored("worker.setup_failed", self.backend.setup)
        await self._until_stored("worker.reaper_failed", self._recover_at_start)
        log.info("worker.started", worker_id=self.worker_id, concurrency=self.config.concurrency)
        helpers = [
            asyncio.create_task(self.acks.heartbeat_loop(), name="heartbeat"),
            asyncio.create_task(
                recover_expired_leases_loop(
                    self.backend,
                    self.config.lease_s,
                    self.acks.renew_leases,
                    max_crashes=self.config.max_crashes,
                    on_recovered=self._count_crashed,
                ),
                name="reaper",
            ),
            asyncio.create_task(self.acks.flush_loop(), name="acks"),
            asyncio.create_task(fire_schedules_loop(self.backend, self.config.schedule_check_s), name="cron"),
            asyncio.create_task(self._wake_loop(), name="wake"),
        ]
        if self.config.retention_s is not None:
            prune = prune_loop(self.backend, self.config.retention_s, self.config.prune_every_s)
            helpers.append(asyncio.create_task(prune, name="prune"))
        try:
            await self._claim_loop(until_idle)
        finally:
            await self._shutdown(helpers)
            if install_signals:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)
        return self.metrics

    async def _recover_at_start(self) -> None:
        self._count_crashed(await self.backend.recover_expired(max_crashes=self.config.max_crashes))

    def _count_crashed(self, n: int) -> None:
        self.metrics.crashed += n

    # -- claiming ------------------------------------------------------------------------------

    async def _claim_loop(self, until_idle: bool) -> None:
        cfg = self.config
        slots = self.slots
        loop = asyncio.get_running_loop()
        gather_until = 0.0
        next_idle_check = 0.0
        while not self._stopping.is_set():
            self.loop_turned_at = time.monotonic()
            held = len(slots.held)
            if held < slots.capacity:
                free = slots.capacity - held
                if free < slots.low_water and slots.has_prefetched:
                    await self._pause(None)
                    continue
                if free < slots.low_water and slots.running and loop.time() < gather_until:
                    # Short jobs are finishing: a couple of ms gathers a batch's worth of room.
                    await self._pause(0.002)
                    continue
                gather_until = loop.time() + 0.005
                self._woke = False  # this claim looks at the queue anyway
                if await self._claim(min(free, cfg.claim_batch), None):
                    continue
                if self._after_full_claim:
                    # Empty right after a full batch: other processes' claims most likely held the
                    # keys this one ranked first. Look again at once instead of sleeping until the
                    # next wake-up (a poll interval with nothing to run).
                    self._after_full_claim = False
                    await self._pause(0.002)
                    continue
                if until_idle and not slots.held and loop.time() >= next_idle_check:
                    if await self._queue_drained():
                        return
                    next_idle_check = loop.time() + 0.2
                await self._pause(None)
                continue
            room_high = slots.capacity + slots.headroom - held
            if self._woke and room_high + slots.burst > 0:
                # Full, and new work may have arrived (a wake-up or a poll tick): look for urgent
                # and high jobs for the headroom slots, then for urgent jobs alone for the burst.
                self._woke = False
                if room_high > 0:
                    claimed = await self._claim(room_high, Priority.HIGH)
                else:
                    claimed = await self._claim(room_high + slots.burst, Priority.URGENT)
                if claimed:
                    continue
            await self._pause(None)

    async def _claim(self, limit: int, max_priority: Priority | None) -> bool:
        kinds = self.slots.claimable_kinds()
        if kinds is not None and not kinds:
            return False  # every kind is at its cap: a finishing job nudges the loop
        try:
            jobs = await self.backend.claim(
                self.worker_id,
                limit,
                lease_s=self.config.lease_s,
                kinds=kinds,
                max_priority=max_priority,
            )
        except Exception as exc:  # the store is unreachable: wait and claim again, never exit
            await self._store_failed("worker.claim_failed", exc)
            return False
        self._store_ok()
        self._after_full_claim = len(jobs) >= limit
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

    async def _store_failed(self, event: str, exc: Exception) -> None:
        """Count, log and wait out a failed store call (backoff grows with the run of failures)."""
        self.metrics.store_errors += 1
        self._store_failures += 1
        if self.store_failing_since is None:
            self.store_failing_since = time.monotonic()
        log.error(event, error=str(exc)[:300], failures=self._store_failures)
        await self._pause(self._store_backoff.delay(self._store_failures))

    def _store_ok(self) -> None:
        if self._store_failures:
            log.info("worker.store_back", after_failures=self._store_failures)
            self._store_failures = 0
            self.store_failing_since = None

    async def _until_stored(self, event: str, call: Callable[[], Awaitable[Any]]) -> None:
        """Run a startup call until the store takes it (or the worker is stopped)."""
        while True:
            try:
                await call()
            except Exception as exc:
                if self._stopping.is_set():
                    raise
                await self._store_failed(event, exc)
                continue
            self._store_ok()
            return

    async def _queue_drained(self) -> bool:
        await self.acks.flush()
        try:
            # Not ``stats()``: its group-bys read the whole table, and every idle process asks this
            # five times a second.
            return await self.backend.drained()
        except Exception as exc:
            await self._store_failed("worker.stats_failed", exc)
            return False

    def _dispatch(self, jobs: list[Job]) -> None:
        self.metrics.claims += 1
        self.metrics.claimed += len(jobs)
        by_kind: dict[str, list[Job]] = defaultdict(list)
        for job in jobs:
            self.slots.hold(job)
            by_kind[job.kind].append(job)
        for kind, group in by_kind.items():
            try:
                spec = self.registry.handler(kind)
            except UnknownJobKind as exc:
                for job in group:
                    self._spawn(self.outcomes.fail(job, str(exc)), [job.id])
                continue
            if spec.batch:
                for i in range(0, len(group), spec.max_batch):
                    chunk = group[i : i + spec.max_batch]
                    self._record_start(chunk)
                    self._spawn(self._run_batch(spec, chunk), [j.id for j in chunk])
            else:
                for job in group:
                    self.slots.prefetched(spec, job)
        self._start_ready()

    def _start_ready(self) -> None:
        """Start prefetched jobs while slots are free."""
        while (startable := self.slots.next_to_start()) is not None:
            spec, job = startable
            self._record_start([job])
            self._spawn(self._run_one(spec, job), [job.id])

    def _record_start(self, jobs: list[Job]) -> None:
        now = self.backend.clock()
        for job in jobs:
            self.metrics.queue_wait_ms[job.priority.name.lower()].append((now - job.run_at) * 1000.0)

    def _spawn(self, coro: Coroutine[Any, Any, None], job_ids: list[int]) -> None:
        task = asyncio.create_task(coro)
        self._tasks[task] = job_ids
        self.slots.occupy(job_ids)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        job_ids = self._tasks.pop(task, [])
        self.slots.vacate(job_ids)
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
            self.slots.note_run((time.perf_counter() - started) * 1000.0)
            await self.outcomes.settle_failure(job, exc)
            return
        run_ms = (time.perf_counter() - started) * 1000.0
        self.slots.note_run(run_ms)
        self.outcomes.ack(job, run_ms, result)

    async def _run_batch(self, spec: HandlerSpec, jobs: list[Job]) -> None:
        started = time.perf_counter()
        try:
            failures = await self._call(spec, jobs) or {}
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            failures = {job.id: exc for job in jobs}
        elapsed = (time.perf_counter() - started) * 1000.0
        self.slots.note_run(elapsed)
        for job in jobs:
            failure = failures.get(job.id)
            if failure is None:
                self.outcomes.ack(job, elapsed, None)
            else:
                await self.outcomes.settle_failure(job, failure)

    # -- shutdown --------------------------------------------------------------------------------

    async def _release(self, job_ids: list[int]) -> None:
        try:
            released = await self.backend.release(self.worker_id, job_ids)
        except Exception as exc:  # the store is down: their leases expire and bring them back
            log.error("worker.release_failed", count=len(job_ids), error=str(exc)[:300])
            return
        log.info("worker.released", count=released)

    async def _shutdown(self, helpers: list[asyncio.Task[None]]) -> None:
        prefetched = self.slots.take_prefetched()
        if prefetched:
            await self._release(prefetched)
        self.slots.forget(prefetched)
        tasks = list(self._tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.config.shutdown_timeout_s)
            unfinished = [job_id for t in pending for job_id in self._tasks.get(t, [])]
            for t in pending:
                t.cancel()
            # Bounded: on Python 3.11 a cancel landing just as a library's ``wait_for`` gets its answer
            # can be dropped, and that handler would hold the exit up for as long as it runs. Its jobs are
            # released anyway; a late ack from it is refused by the lease's fencing token.
            if pending:
                await asyncio.wait(pending, timeout=CANCEL_GRACE_S)
            if unfinished:
                await self._release(unfinished)
        await self.acks.flush_all()
        for h in helpers:
            h.cancel()
        if helpers:
            await asyncio.wait(helpers, timeout=CANCEL_GRACE_S)
        log.info("worker.stopped", worker_id=self.worker_id, succeeded=self.metrics.succeeded)
