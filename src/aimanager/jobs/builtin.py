"""Built-in job kinds: ``noop``, ``sleep`` and ``noop_batch`` (engine demo and benchmarks)."""

from __future__ import annotations

import asyncio
from typing import Any

from aimanager.jobs.errors import PermanentFailure
from aimanager.jobs.model import Job
from aimanager.jobs.registry import Registry


async def noop(job: Job) -> None:
    """Does nothing: measures the engine's own overhead."""
    return None


async def sleep(job: Job) -> dict[str, Any]:
    """Sleeps ``payload.ms`` milliseconds: stands in for an I/O-bound call."""
    ms = job.payload.get("ms", 50)
    if not isinstance(ms, int | float) or ms < 0 or ms > 600_000:
        raise PermanentFailure(f"payload.ms must be a number of milliseconds in [0, 600000], got {ms!r}")
    await asyncio.sleep(ms / 1000.0)
    return {"slept_ms": ms}


async def noop_batch(jobs: list[Job]) -> None:
    """A batch handler that does nothing (measures batch claims)."""
    return None


def builtin_registry() -> Registry:
    """A registry with the built-in kinds."""
    reg = Registry()
    reg.register("noop", noop)
    reg.register("sleep", sleep)
    reg.register_batch("noop_batch", noop_batch, max_batch=50)
    return reg
