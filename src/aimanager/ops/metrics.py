"""Prometheus metrics of a worker process, the LLM gateway it uses, and the queue it serves.

Counters come from the worker's and the gateway's own counters as deltas (``Exporter.collect``), so the
hot paths keep their plain integer counters. Under the supervisor each worker process writes its
metrics to ``PROMETHEUS_MULTIPROC_DIR`` and the supervisor serves their sum; the queue's depth and age
are read from the database by whichever process serves ``/metrics``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from aimanager.logs import get_logger

log = get_logger(__name__)
PRIORITY_NAMES = {0: "urgent", 1: "high", 2: "medium", 3: "low"}
# Start latency spans a second (urgent) to a day (low): buckets around each priority's SLA.
LATENCY_BUCKETS = (0.1, 0.5, 1, 2, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600)
# ``crashed``: attempts lost to an expired lease (their worker died), requeued by this worker's reaper.
WORKER_OUTCOMES = ("succeeded", "retried", "snoozed", "failed", "dead", "crashed")


class Exporter:
    """Feeds a worker's ``WorkerMetrics`` and a gateway's ``GatewayStats`` into Prometheus metrics."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        kw: dict[str, Any] = {} if registry is None else {"registry": registry}
        self.jobs = Counter("aimanager_jobs", "Job attempts ended by workers, by outcome", ["outcome"], **kw)
        self.claimed = Counter("aimanager_jobs_claimed", "Jobs claimed by workers", **kw)
        self.store_errors = Counter(
            "aimanager_worker_store_errors",
            "Claims, acks, heartbeats and settles retried after a store error",
            **kw,
        )
        self.start_latency = Histogram(
            "aimanager_job_start_latency_seconds",
            "Seconds from a job's run_at to its start, by priority",
            ["priority"],
            buckets=LATENCY_BUCKETS,
            **kw,
        )
        self.llm_calls = Counter("aimanager_llm_calls", "LLM calls answered", **kw)
        self.llm_tokens = Counter("aimanager_llm_tokens", "LLM tokens billed", ["direction"], **kw)
        self.llm_cost = Counter("aimanager_llm_cost_usd", "LLM cost in USD", **kw)
        self.llm_throttled = Counter(
            "aimanager_llm_throttled", "429 and 529 answers from LLM providers", **kw
        )
        self.llm_cache_hits = Counter("aimanager_llm_cache_hits", "LLM items answered from the cache", **kw)
        self._seen: dict[str, float] = {}
        self._waits_seen: dict[str, int] = {}

    def _delta(self, name: str, value: float) -> float:
        before = self._seen.get(name, 0.0)
        self._seen[name] = value
        return max(0.0, value - before)

    def collect(self, worker_metrics: Any = None, llm_stats: Any = None) -> None:
        """Add what changed since the last call (either source may be missing)."""
        if worker_metrics is not None:
            for outcome in WORKER_OUTCOMES:
                if d := self._delta(outcome, getattr(worker_metrics, outcome, 0)):
                    self.jobs.labels(outcome).inc(d)
            if d := self._delta("claimed", worker_metrics.claimed):
                self.claimed.inc(d)
            if d := self._delta("store_errors", getattr(worker_metrics, "store_errors", 0)):
                self.store_errors.inc(d)
            for priority, waits in list(worker_metrics.queue_wait_ms.items()):
                start = self._waits_seen.get(priority, 0)
                for ms in waits[start:]:
                    self.start_latency.labels(priority).observe(max(0.0, ms / 1000.0))
                self._waits_seen[priority] = len(waits)
        if llm_stats is not None:
            usage = llm_stats.usage
            for name, value, metric in (
                ("llm_calls", llm_stats.calls, self.llm_calls),
                ("llm_cache_hits", llm_stats.cache_hits, self.llm_cache_hits),
                ("llm_retries", llm_stats.retries, self.llm_throttled),
                ("llm_cost", float(llm_stats.cost_usd), self.llm_cost),
            ):
                if d := self._delta(name, value):
                    metric.inc(d)
            tokens = {
                "input": usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens,
                "output": usage.output_tokens,
            }
            for direction, value in tokens.items():
                if d := self._delta("tokens_" + direction, value):
                    self.llm_tokens.labels(direction).inc(d)


class QueueGauges:
    """Queue depth and the age of the oldest ready job per priority, read at scrape time."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.depth = Gauge(
            "aimanager_queue_depth", "Queued jobs, by priority", ["priority"], registry=registry
        )
        self.oldest = Gauge(
            "aimanager_queue_oldest_age_seconds",
            "Seconds the oldest ready queued job has waited, by priority",
            ["priority"],
            registry=registry,
        )
        self.up = Gauge("aimanager_database_up", "1 when the last queue read succeeded", registry=registry)

    async def update(self, engine: AsyncEngine, timeout_s: float = 5.0) -> None:
        try:
            snapshot = await asyncio.wait_for(queue_snapshot(engine), timeout_s)
        except Exception as exc:
            self.up.set(0)
            log.warning("ops.queue_read_failed", error=str(exc)[:200])
            return
        self.up.set(1)
        for name in PRIORITY_NAMES.values():
            depth, age = snapshot.get(name, (0, 0.0))
            self.depth.labels(name).set(depth)
            self.oldest.labels(name).set(age)


async def queue_snapshot(engine: AsyncEngine) -> dict[str, tuple[int, float]]:
    """Priority name → (queued jobs, seconds the oldest ready one has waited)."""
    now = time.time()
    sql = text(
        "SELECT priority, count(*), min(CASE WHEN run_at <= :now THEN run_at END) "
        "FROM jobs WHERE status = 'queued' GROUP BY priority"
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(sql, {"now": now})).all()
    out: dict[str, tuple[int, float]] = {}
    for priority, count, oldest in rows:
        name = PRIORITY_NAMES.get(int(priority), str(priority))
        out[name] = (int(count), max(0.0, now - float(oldest)) if oldest is not None else 0.0)
    return out


async def database_answers(engine: AsyncEngine, timeout_s: float = 5.0) -> str | None:
    """None when ``SELECT 1`` answers within ``timeout_s``, else why not."""
    try:
        async with asyncio.timeout(timeout_s):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except Exception as exc:
        return (
            f"database does not answer: {str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}"
        )
    return None


class DesiredWorkers:
    """``aimanager_desired_workers``: the worker processes the queue needs now (``ops.autoscale``), for
    an external autoscaler (KEDA's Prometheus scaler, an HPA on an external metric)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.gauge = Gauge(
            "aimanager_desired_workers",
            "Worker processes the measured load needs (start lag against each priority's SLA, depth)",
            registry=registry,
        )

    def publish(self, decision: Any) -> None:
        self.gauge.set(decision.workers)
