"""Maintenance every worker does for all of them: requeue the jobs of workers that stopped.

A worker that dies stops renewing its leases; any live worker requeues those jobs (or ends them
``dead`` when out of attempts) once the lease has expired: at startup and every lease/4 after.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aimanager.jobs.backends.protocol import Backend
from aimanager.logs import get_logger

log = get_logger("aimanager.jobs.worker")


async def recover_expired_leases_loop(
    backend: Backend, lease_s: float, renew_own_leases: Callable[[], Awaitable[None]]
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
            log.error("worker.reaper_failed", error=str(exc))
            continue
        if n:
            log.warning("jobs.recovered", count=n)
