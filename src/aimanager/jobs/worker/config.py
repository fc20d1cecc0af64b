"""How one worker is tuned, what it counts, and how it is named."""

from __future__ import annotations

import os
import socket
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from aimanager.jobs.model import MAX_CRASHES


@dataclass(slots=True)
class WorkerConfig:
    """Tuning of one worker process."""

    concurrency: int = 10
    kinds: list[str] | None = None
    # A killed worker's jobs start again within lease + lease/4 (the reaper's period): 12.5 s.
    # ``aimanager worker`` takes it from AIMANAGER_LEASE_SECONDS (same default) unless --lease is given.
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
    # at once rather than after a claim round trip. None: automatic, a quarter of ``concurrency``, or a
    # whole ``claim_batch`` while handlers run in under ``slots.SHORT_RUN_MS``.
    prefetch: int | None = None
    poll_s: float | None = None  # default: the backend's poll interval
    # How often this worker looks for due schedules (one indexed query; the firing is exactly once
    # whichever worker looks). A schedule fires at most this late.
    schedule_check_s: float = 5.0
    # A claim, ack, heartbeat or settle that fails (the database restarting, a connection killed) is
    # retried with backoff up to this many seconds apart; the worker never exits for it.
    store_retry_cap_s: float = 5.0
    # A job whose lease expired this many times (its worker killed each time) ends dead: a poison
    # job that crashes every worker must stop; crashes do not use up the handler's max_attempts.
    max_crashes: int = MAX_CRASHES
    # Finished jobs older than this are deleted by the workers themselves, every ``prune_every_s``
    # (None: never; ``aimanager worker`` sets it from AIMANAGER_JOB_RETENTION_DAYS).
    retention_s: float | None = None
    prune_every_s: float = 600.0


@dataclass(slots=True)
class WorkerMetrics:
    """Counters and timings of one worker's run."""

    claimed: int = 0
    succeeded: int = 0
    retried: int = 0
    snoozed: int = 0
    failed: int = 0
    dead: int = 0
    claims: int = 0
    store_errors: int = 0  # claims, acks, heartbeats and settles that failed and were retried
    crashed: int = 0  # expired leases (other workers' crashes) this worker's reaper requeued or ended
    queue_wait_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    run_ms: list[float] = field(default_factory=list)


def new_worker_id() -> str:
    """host:pid:random — unique per process start, readable in ``jobs list``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
