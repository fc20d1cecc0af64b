"""The job engine: durable, prioritised, fair, rate-limited, batched jobs on SQL or in memory."""

from aimanager.jobs.backend import Backend
from aimanager.jobs.errors import InvalidPayload, JobNotFound, PermanentFailure, Retry, UnknownJobKind
from aimanager.jobs.memory import MemoryBackend
from aimanager.jobs.model import Completion, EnqueueResult, Job, JobSpec, JobStatus, QueueStats
from aimanager.jobs.registry import Registry
from aimanager.jobs.sql import SQLBackend
from aimanager.jobs.worker import Worker, WorkerConfig, WorkerMetrics

__all__ = [
    "Backend",
    "Completion",
    "EnqueueResult",
    "InvalidPayload",
    "Job",
    "JobNotFound",
    "JobSpec",
    "JobStatus",
    "MemoryBackend",
    "PermanentFailure",
    "QueueStats",
    "Registry",
    "Retry",
    "SQLBackend",
    "UnknownJobKind",
    "Worker",
    "WorkerConfig",
    "WorkerMetrics",
]
