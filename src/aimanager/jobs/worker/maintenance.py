"""Maintenance every worker does for all of them: requeue the jobs of workers that stopped, and fire
the schedules that are due.

A worker that dies stops renewing its leases; any live worker requeues those jobs (or ends them
``dead`` when out of attempts) once the lease has expired: at startup and every lease/4 after.
Every worker also looks for due schedules; the backend fires each period once however many look, so
there is no scheduler process to keep alive.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aimanager.jobs.backends.protocol import Backend
from aimanager.logs import get_logger

log = get_logger("aimanager.jobs.worker")


async def recover_expired_leases_loop(
    backend: Backend, lease_s: float, renew_own_leases: Callable[[], Awaitable[object]]
) -> None:
    """Every lease/4, requeue the running jobs whose lease expired."""
    interval = lease_s / 4.0
    while True:
        await asyncio.sleep(interval)
        # Renew our own leases first: after the event loop stalled longer than a lease (a CPU
        # burst, a slow disk), this worker must not requeue the jobs it is running itself.
        await renew_own_leases()
        try:
            n = await backend.recover_expired()
        except Exception as exc:
            log.error("worker.reaper_failed", error=str(exc)[:300])
            continue
        if n:
            log.warning("jobs.recovered", count=n)


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
