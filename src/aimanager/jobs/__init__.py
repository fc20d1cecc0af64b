"""The job engine: durable, prioritised, fair, rate-limited, batched jobs on SQL or in memory.

``backends/`` holds the stores behind the ``Backend`` protocol (memory, SQL on SQLite and PostgreSQL,
with the engine's own tables); ``worker/`` runs jobs from a backend. Callers import from here.
"""

from aimanager.jobs.backends.memory import MemoryBackend
from aimanager.jobs.backends.protocol import Backend
from aimanager.jobs.backends.sql.backend import SQLBackend
from aimanager.jobs.builtin import builtin_registry
from aimanager.jobs.errors import InvalidPayload, PermanentFailure, Retry, Snooze, UnknownJobKind
from aimanager.jobs.model import (
    Completion,
    EnqueueResult,
    Job,
    JobSpec,
    JobStatus,
    QueueStats,
    Schedule,
    parse_payload,
)
from aimanager.jobs.priority import Priority
from aimanager.jobs.registry import Registry
from aimanager.jobs.worker.config import WorkerConfig, WorkerMetrics
from aimanager.jobs.worker.loop import Worker

__all__ = [
    "Backend",
    "Completion",
    "EnqueueResult",
    "InvalidPayload",
    "Job",
    "JobSpec",
    "JobStatus",
    "MemoryBackend",
    "PermanentFailure",
    "Priority",
    "QueueStats",
    "Registry",
    "Retry",
    "SQLBackend",
    "Schedule",
    "Snooze",
    "UnknownJobKind",
    "Worker",
    "WorkerConfig",
    "WorkerMetrics",
    "builtin_registry",
    "parse_payload",
]
