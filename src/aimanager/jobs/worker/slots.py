"""The worker's slots: which jobs it holds, which may start now, and which kinds it may claim.

A worker holds up to ``concurrency`` running jobs plus ``prefetch`` claimed ahead of free slots (leased
and heartbeated, started in priority order the moment a slot frees). Urgent and high jobs may also
take ``headroom`` extra slots, and urgent jobs a further ``burst``, so a worker full of 5-minute-SLA
work still starts an urgent job at once while regular work keeps all N slots.

With the default (automatic) prefetch, a worker whose handlers finish within ``SHORT_RUN_MS`` prefetches
a whole claim batch: its slots empty faster than a claim's round trip, so the next batch must be
claimed while the last one runs, and full batches spread a claim's fixed cost (the key choice, the
statement's planning) over more jobs. Holding such jobs costs other workers nothing: they finish in
milliseconds. It falls back to a quarter of ``concurrency`` as soon as runs get longer.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import defaultdict

from aimanager.jobs.model import Job
from aimanager.jobs.priority import Priority
from aimanager.jobs.registry import HandlerSpec, Registry
from aimanager.jobs.worker.config import WorkerConfig

# Handlers whose runs average less than this (ms) count as short: see the module's docstring.
SHORT_RUN_MS = 5.0
# Weight of the newest run in the running average of run times.
_RUN_WEIGHT = 0.05


class Slots:
    """Counts of held and running jobs, and the prefetched jobs waiting for a slot."""

    def __init__(self, config: WorkerConfig, registry: Registry) -> None:
        self.concurrency = config.concurrency
        self.headroom = max(1, math.ceil(config.concurrency * config.urgent_reserve))
        self.burst = max(0, math.ceil(config.concurrency * config.urgent_burst))
        self.prefetch = config.prefetch if config.prefetch is not None else max(1, config.concurrency // 4)
        self._base_prefetch = self.prefetch
        # Automatic prefetch only: an explicit ``prefetch`` is kept whatever the run times.
        self._short_prefetch = (
            self.prefetch if config.prefetch is not None else max(self.prefetch, config.claim_batch)
        )
        self._run_ms: float | None = None  # running average of handler run times
        self.capacity = config.concurrency + self.prefetch
        # Refill in batches (a claim costs the same for 1 job as for 50) while prefetched jobs keep
        # the slots busy; claim at once when nothing is waiting.
        self.low_water = max(1, min(config.claim_batch, max(self.prefetch // 2, config.concurrency // 10)))
        self.held: dict[int, Job] = {}  # claimed and not finished: running, prefetched or failing
        self.running = 0  # jobs whose handler task is running
        self._ready: list[tuple[int, int, HandlerSpec, Job]] = []  # prefetched, by priority
        self._seq = itertools.count()
        self._registry = registry
        self._kinds = config.kinds if config.kinds else None
        if self._kinds:
            registry.check(self._kinds)
        self._caps = registry.caps

    def note_run(self, run_ms: float) -> None:
        """A handler run took ``run_ms``: prefetch a whole batch while runs stay short."""
        avg = self._run_ms
        avg = run_ms if avg is None else avg + (run_ms - avg) * _RUN_WEIGHT
        self._run_ms = avg
        self.prefetch = self._short_prefetch if avg < SHORT_RUN_MS else self._base_prefetch
        self.capacity = self.concurrency + self.prefetch

    @property
    def has_prefetched(self) -> bool:
        return bool(self._ready)

    def claimable_kinds(self) -> list[str] | None:
        """The kinds this worker may claim now: its kinds less those at their ``max_running`` cap
        (None: any kind)."""
        if not self._caps:
            return self._kinds
        held: dict[str, int] = defaultdict(int)
        for job in self.held.values():
            held[job.kind] += 1
        full = {kind for kind, cap in self._caps.items() if held[kind] >= (cap() if callable(cap) else cap)}
        if not full:
            return self._kinds
        return [k for k in (self._kinds or self._registry.kinds) if k not in full]

    def hold(self, job: Job) -> None:
        self.held[job.id] = job

    def prefetched(self, spec: HandlerSpec, job: Job) -> None:
        """Queue a claimed single-job run for the next free slot of its priority."""
        heapq.heappush(self._ready, (int(job.priority), next(self._seq), spec, job))

    def next_to_start(self) -> tuple[HandlerSpec, Job] | None:
        """The most urgent prefetched job if a slot is free for its priority (urgent and high may
        use the headroom, urgent the burst too), taken off the queue."""
        if not self._ready:
            return None
        prio, _, spec, job = self._ready[0]
        limit = self.concurrency
        if prio <= Priority.HIGH:
            limit += self.headroom + (self.burst if prio == Priority.URGENT else 0)
        if self.running >= limit:
            return None
        heapq.heappop(self._ready)
        return spec, job

    def take_prefetched(self) -> list[int]:
        """Empty the prefetch queue (shutdown): the ids of the jobs it held, still leased."""
        ids = [job.id for *_, job in self._ready]
        self._ready.clear()
        return ids

    def occupy(self, job_ids: list[int]) -> None:
        """A handler task started for ``job_ids``: they run."""
        self.running += len(job_ids)

    def vacate(self, job_ids: list[int]) -> None:
        """The task of ``job_ids`` ended (acked, failed or cancelled): their slots are free."""
        self.running -= len(job_ids)
        self.forget(job_ids)

    def forget(self, job_ids: list[int]) -> None:
        """This worker no longer holds ``job_ids``."""
        for job_id in job_ids:
            self.held.pop(job_id, None)
