"""Job records, enqueue specs and statistics: the engine's value types."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from aimanager.jobs.errors import InvalidPayload
from aimanager.jobs.priority import Priority
from aimanager.retry import Backoff

Clock = Callable[[], float]
"""Returns the current time as epoch seconds. Injected so tests move time without sleeping."""

system_clock: Clock = time.time


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # a permanent failure: another attempt cannot help
    DEAD = "dead"  # attempts exhausted
    CANCELLED = "cancelled"


FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.DEAD, JobStatus.CANCELLED)

# A failed job waits 1 s, 2 s, 4 s … (at most 5 min), times 0.5-1.5 so that jobs failing together
# (a provider outage) do not come back together, and never less than half the step.
JOB_BACKOFF = Backoff(base=1.0, cap=300.0, jitter="spread")

# Attempts lost to crashes (the lease expired: the worker was killed, ran out of memory, or stalled
# past its lease) are counted apart from handler errors: a deploy that SIGKILLs workers must not use
# up a job's ``max_attempts``, yet a poison job that kills every worker that runs it must end. It ends
# ``dead`` after this many crashes (more than the three handler attempts: unrelated kills happen).
MAX_CRASHES = 5


def to_datetime(ts: float | None) -> datetime | None:
    """Epoch seconds → timezone-aware UTC datetime."""
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def encode_payload(payload: Any) -> str:
    """Serialise a payload, which must be a JSON object, or raise :class:`InvalidPayload`."""
    if not isinstance(payload, dict):
        raise InvalidPayload(f"payload must be a JSON object, got {type(payload).__name__}")
    try:
        return json.dumps(payload, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidPayload(f"payload is not JSON-serialisable: {exc}") from None


def parse_payload(text: str) -> dict[str, Any]:
    """Parse a payload given as text (CLI, API) or raise :class:`InvalidPayload` with the position."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidPayload(
            f"payload is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(value, dict):
        raise InvalidPayload(f"payload must be a JSON object, got {type(value).__name__}")
    return value


# A new batch key joins the claim rotation as if served this long before now: behind every key served
# earlier, ahead of a key served in the same instant (see the backends' enqueue).
JOIN_AHEAD_S = 0.001


@dataclass(frozen=True, slots=True)
class JobSpec:
    """What a caller asks to run. ``batch_key`` defaults to ``"<kind>:p<partner_id>"``.

    Jobs with the same batch key are claimed together (one handler call for a batch handler) and
    share the key's rate limit; fairness rotates over batch keys, so keys should name a partner.
    """

    kind: str
    payload: dict[str, Any] = field(default_factory=dict)
    partner_id: int | None = None
    priority: Priority = Priority.MEDIUM
    batch_key: str | None = None
    unique_key: str | None = None
    max_attempts: int = 3
    delay: float = 0.0

    def key(self) -> str:
        """The effective batch key."""
        if self.batch_key:
            return self.batch_key
        return f"{self.kind}:p{self.partner_id}" if self.partner_id is not None else self.kind

    def row(self, now: float) -> dict[str, Any]:
        """The ``jobs`` row for this spec, enqueued at ``now``."""
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        prio = Priority.parse(self.priority)
        run_at = now + max(0.0, self.delay)
        return {
            "kind": self.kind,
            "partner_id": self.partner_id,
            "batch_key": self.key(),
            "payload": encode_payload(self.payload),
            "priority": int(prio),
            "status": JobStatus.QUEUED.value,
            "enqueued_at": now,
            "run_at": run_at,
            "deadline": run_at + prio.start_sla_seconds,
            "attempts": 0,
            "crashes": 0,
            "max_attempts": self.max_attempts,
            "unique_key": self.unique_key,
        }


@dataclass(frozen=True, slots=True)
class Schedule:
    """A job the engine enqueues every ``every_s`` seconds (see ``Backend.set_schedule``)."""

    name: str
    job: JobSpec
    every_s: float
    next_at: float
    enabled: bool = True
    last_fired_at: float | None = None
    fired: int = 0

    def firing(self, due_at: float) -> JobSpec:
        """The job of the firing due at ``due_at``: its unique key makes a second enqueue of the same
        period a no-op, whatever raced."""
        return replace(self.job, unique_key=f"schedule:{self.name}:{due_at:.3f}", delay=0.0)


@dataclass(slots=True)
class Job:
    """A job as stored. Times are epoch seconds; the ``*_dt`` properties give aware datetimes.

    ``attempts`` counts every start (it fences the writes of each attempt, so it only grows while the
    job runs); ``crashes`` counts the starts lost to an expired lease. Handler errors are the
    difference (``handler_attempts``): ``max_attempts`` bounds them, ``MAX_CRASHES`` bounds crashes.
    """

    id: int
    kind: str
    partner_id: int | None
    batch_key: str
    payload: dict[str, Any]
    priority: Priority
    status: JobStatus
    enqueued_at: float
    run_at: float
    deadline: float
    attempts: int
    max_attempts: int
    started_at: float | None = None
    finished_at: float | None = None
    lease_until: float | None = None
    worker_id: str | None = None
    unique_key: str | None = None
    result: Any = None
    last_error: str | None = None
    queue_wait_ms: float | None = None
    run_ms: float | None = None
    crashes: int = 0

    @property
    def handler_attempts(self) -> int:
        """Attempts that ended by the handler (or are running now), not by a crash."""
        return self.attempts - self.crashes

    @classmethod
    def from_row(cls, row: Any) -> Job:
        """Build from a mapping with the ``jobs`` table's columns."""
        m = row if isinstance(row, dict) else row._mapping
        payload = m["payload"]
        result = m.get("result")
        return cls(
            id=int(m["id"]),
            kind=m["kind"],
            partner_id=m["partner_id"],
            batch_key=m["batch_key"],
            payload=json.loads(payload) if isinstance(payload, str) else dict(payload or {}),
            priority=Priority(int(m["priority"])),
            status=JobStatus(m["status"]),
            enqueued_at=m["enqueued_at"],
            run_at=m["run_at"],
            deadline=m["deadline"],
            attempts=m["attempts"],
            max_attempts=m["max_attempts"],
            started_at=m.get("started_at"),
            finished_at=m.get("finished_at"),
            lease_until=m.get("lease_until"),
            worker_id=m.get("worker_id"),
            unique_key=m.get("unique_key"),
            result=json.loads(result) if isinstance(result, str) else result,
            last_error=m.get("last_error"),
            queue_wait_ms=m.get("queue_wait_ms"),
            run_ms=m.get("run_ms"),
            crashes=int(m.get("crashes") or 0),
        )

    @property
    def enqueued_dt(self) -> datetime | None:
        return to_datetime(self.enqueued_at)

    @property
    def deadline_dt(self) -> datetime | None:
        return to_datetime(self.deadline)

    @property
    def started_dt(self) -> datetime | None:
        return to_datetime(self.started_at)

    @property
    def finished_dt(self) -> datetime | None:
        return to_datetime(self.finished_at)


@dataclass(frozen=True, slots=True)
class EnqueueResult:
    """Ids of the inserted jobs (in spec order) and the unique keys that already existed."""

    ids: list[int]
    skipped_unique_keys: list[str]


@dataclass(frozen=True, slots=True)
class Completion:
    """A successful run to acknowledge: fenced by the attempt number the worker ran."""

    job_id: int
    attempts: int
    run_ms: float
    result: Any = None


@dataclass(slots=True)
class QueueStats:
    """A snapshot of the queue for the CLI, the API and the benchmarks."""

    by_status: dict[str, int] = field(default_factory=dict)
    queued_by_priority: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)
    oldest_ready_wait_s: float | None = None
    throughput_per_s: float = 0.0  # finished in the last minute / 60
    sla_breaches: dict[str, int] = field(default_factory=dict)  # started late, or waiting past deadline
    started_by_priority: dict[str, int] = field(default_factory=dict)
