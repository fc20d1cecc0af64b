"""Wiring ``/healthz`` and ``/metrics`` for a single worker process or for the supervisor."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.ext.asyncio import AsyncEngine

from aimanager.logs import get_logger
from aimanager.ops.autoscale import ScalePolicy, desired_workers
from aimanager.ops.http import serve_http
from aimanager.ops.metrics import DesiredWorkers, Exporter, QueueGauges, database_answers
from aimanager.ops.scaling import LoadSampler
from aimanager.ops.supervisor import STATE_DIR_ENV, Supervisor

log = get_logger(__name__)


class Watched(Protocol):
    """What the endpoints need of a worker (``aimanager.jobs.Worker`` is one)."""

    metrics: Any

    def alive(self, stale_s: float = 30.0) -> bool: ...


LLMStats = Callable[[], Any]


async def report_loop(
    worker: Watched, exporter: Exporter, llm_stats: LLMStats | None, every_s: float = 1.0
) -> None:
    """In a worker process: feed the exporter, and under a supervisor touch the liveness file while
    the claim loop turns."""
    state_dir = os.environ.get(STATE_DIR_ENV)
    beat = Path(state_dir) / f"alive-{os.getpid()}" if state_dir else None
    while True:
        exporter.collect(worker.metrics, llm_stats() if llm_stats else None)
        if beat is not None and worker.alive():
            with contextlib.suppress(OSError):
                beat.touch()
        await asyncio.sleep(every_s)


async def serve_worker(
    host: str,
    port: int,
    worker: Watched,
    engine: AsyncEngine,
    exporter: Exporter,
    llm_stats: LLMStats | None,
    scaling: tuple[LoadSampler, ScalePolicy] | None = None,
) -> asyncio.Server:
    """``/healthz`` and ``/metrics`` of one worker process (``aimanager worker --metrics-port``).

    ``scaling``: also publish ``aimanager_desired_workers`` at each scrape (one worker per pod, an
    external autoscaler decides; the workers holding jobs count as the current replicas)."""
    registry = CollectorRegistry()
    queue = QueueGauges(registry)
    desired = DesiredWorkers(registry) if scaling is not None else None

    async def decide() -> None:
        if scaling is None or desired is None:
            return
        sampler, policy = scaling
        try:
            load = await asyncio.wait_for(sampler.sample(), 5.0)
        except Exception as exc:
            log.warning("ops.autoscale.sample_failed", error=str(exc)[:200])
            return
        desired.publish(desired_workers(load, max(1, sampler.holders), policy))

    async def health() -> tuple[bool, str]:
        if not worker.alive():
            return False, "claim loop is not turning"
        why = await database_answers(engine)
        return (False, why) if why else (True, "ok")

    async def metrics() -> bytes:
        exporter.collect(worker.metrics, llm_stats() if llm_stats else None)
        await queue.update(engine)
        await decide()
        return generate_latest(REGISTRY) + generate_latest(registry)

    return await serve_http(host, port, health, metrics)


async def serve_supervisor(
    host: str, port: int, supervisor: Supervisor, engine: AsyncEngine, own: CollectorRegistry | None = None
) -> asyncio.Server:
    """``/healthz`` (every child alive and turning, the database answering) and ``/metrics`` (the
    children's metrics summed, the queue, restarts) of ``aimanager worker --processes N``; ``own``:
    the supervisor's other metrics (``aimanager_desired_workers`` under ``--processes auto``)."""
    own = own if own is not None else CollectorRegistry()
    queue = QueueGauges(own)
    alive = Gauge("aimanager_worker_processes", "Worker processes running under the supervisor", registry=own)
    restarts = Counter(
        "aimanager_worker_restarts", "Worker processes restarted by the supervisor", registry=own
    )
    children = CollectorRegistry()
    MultiProcessCollector(children, path=str(supervisor.metrics_dir))  # type: ignore[no-untyped-call]
    counted = 0

    async def health() -> tuple[bool, str]:
        ok, why = supervisor.health()
        if not ok:
            return ok, why
        db = await database_answers(engine)
        return (False, db) if db else (True, why)

    async def metrics() -> bytes:
        nonlocal counted
        alive.set(len(supervisor.pids()))
        if supervisor.restarts > counted:
            restarts.inc(supervisor.restarts - counted)
            counted = supervisor.restarts
        await queue.update(engine)
        return generate_latest(children) + generate_latest(own)

    return await serve_http(host, port, health, metrics)
