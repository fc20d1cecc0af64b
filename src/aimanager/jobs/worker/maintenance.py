"""Maintenance every worker does for all of them: requeue the jobs of workers that stopped, fire the
schedules that are due, and prune finished jobs past their retention.

A worker that dies stops renewing its leases; any live worker requeues those jobs (or ends them
``dead`` after ``max_crashes`` crashes) once the lease has expired: at startup and every lease/4
after. Every worker also looks for due schedules; the backend fires each period once however many
look, so there is no scheduler process to keep alive. And every worker prunes finished jobs older
than the retention now and then (at a random point of each period, so workers started together do
not prune together; a prune that finds nothing costs one indexed lookup): the queue table stays the
size of its live work, which keeps its indexes small and vacuum cheap.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

from aimanager.jobs.backends.protocol import Backend
from aimanager.logs import get_logger

log = get_logger("aimanager.jobs.worker")


async def recover_expired_leases_loop(
    backend: Backend,
    lease_s: float,
    renew_own_leases: Callable[[], Awaitable[object]],
    *,
    max_crashes: int,
    on_recovered: Callable[[int], None] = lambda n: None,
) -> None:
    """Every lease/4, requeue the running jobs whose lease expired (each a crash of its job), and
    park the batch keys left without work."""
    interval = lease_s / 4.0
    while True:
        await asyncio.sleep(interval)
        # Renew our own leases first: after the event loop stalled longer than a lease (a CPU
        # burst, a slow disk), this worker must not requeue the jobs it is running itself.
        await renew_own_leases()
        try:
            n = await backend.recover_expired(max_crashes=max_crashes)
        except Exception as exc:
            log.error("worker.reaper_failed", error=str(exc)[:300])
            continue
        if n:
            on_recovered(n)
            log.warning("jobs.recovered", count=n)
        try:
            # Keys whose work is done are set aside here rather than in the claim: the claim then
            # probes only keys with work, however many partners have been idle since.
            await backend.park_idle_keys()
        except Exception as exc:
            log.error("worker.park_failed", error=str(exc)[:300])


async def fire_schedules_loop(backend: Backend, every_s: float) -> None:
    """Every ``every_s``, enqueue the jobs of the schedules that are due."""
    while True:
        try:
            fired = await backend.fire_due_schedules()
        except Exception as exc:
            log.error("worker.schedules_failed", error=str(exc)[:300])
        else:
            if fired:
                log.info("jobs.scheduled", count=fired)
        await asyncio.sleep(every_s)


async def prune_loop(
    backend: Backend, retention_s: float, every_s: float, rng: random.Random | None = None
) -> None:
    """Every ``every_s`` (at a random point of each period), delete the jobs that finished more than
    ``retention_s`` ago."""
    rng = rng or random.Random()
    while True:
        await asyncio.sleep(every_s * rng.uniform(0.5, 1.5))
        try:
            pruned = await backend.prune(retention_s)
        except Exception as exc:
            log.error("worker.prune_failed", error=str(exc)[:300])
            continue
        if pruned:
            log.info("jobs.pruned", count=pruned, retention_s=retention_s)
