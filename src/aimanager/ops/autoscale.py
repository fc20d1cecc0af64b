"""How many worker processes the queue needs, from measurement: a pure function and its inputs.

The original design scaled by bands of load (5 workers when low, 10 medium, 20-50 high) without
saying how load is measured. Here the count follows from two measured quantities and one check:

- **keeping up** (Little's law): jobs in service = arrival rate × mean run time; a process runs
  ``concurrency`` of them, kept at ``target_utilisation`` so a burst does not start late at once;
- **catching up**: each priority's ready backlog must start within that priority's start SLA, which
  takes depth × mean run time / SLA more slots (an urgent backlog of 10 weighs like a low one of 3,000);
- **lagging**: if a priority with a backlog had more than ``late_share`` of its recent starts come
  after their SLA (its p95 start lag is over the SLA) or its oldest ready job is already past it, the
  measured rates
  under-state the need (a provider slowed down, the mean hides a tail): at least one step more
  than now (+50 %, at least +1).

The result is clamped to [min, max]. The function has no memory; the supervisor (``Supervisor.scale``)
adds the stabilisation (scale up at once, down only after the need stayed lower for a while), and
``/metrics`` exposes it as ``aimanager_desired_workers`` for an external autoscaler (KEDA, an HPA).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class PriorityLoad:
    """One priority's queue, measured."""

    sla_s: float  # start SLA: the most a job may wait from run_at to its start
    depth: int = 0  # ready jobs (queued, run_at reached)
    oldest_wait_s: float = 0.0  # how long the oldest ready job has waited
    started: int = 0  # jobs of this priority started in the window
    late: int = 0  # of those, started after their deadline


@dataclass(frozen=True, slots=True)
class Load:
    """The queue over the last ``window_s`` seconds."""

    window_s: float
    arrived: float = 0.0  # jobs that became ready in the window
    finished: int = 0  # attempts that ended in the window
    mean_run_s: float = 0.0  # their mean run time
    running: int = 0  # attempts running now
    priorities: Mapping[str, PriorityLoad] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ScalePolicy:
    min_workers: int = 1
    max_workers: int = 8
    concurrency: int = 10  # jobs one worker process runs at once
    target_utilisation: float = 0.8
    late_share: float = 0.05  # more starts than this late: the p95 start lag is over the SLA
    min_starts: int = 20  # fewer starts in the window say nothing about a share


@dataclass(frozen=True, slots=True)
class Decision:
    workers: int
    reason: str


def desired_workers(load: Load, current: int, policy: ScalePolicy) -> Decision:
    """The worker processes ``load`` needs, between ``policy.min_workers`` and ``max_workers``."""
    if policy.min_workers < 1 or policy.max_workers < policy.min_workers or policy.concurrency < 1:
        raise ValueError("need 1 <= min_workers <= max_workers and concurrency >= 1")
    run_s = max(0.0, load.mean_run_s)
    per_worker = policy.concurrency * policy.target_utilisation
    rate = max(load.arrived, float(load.finished)) / load.window_s if load.window_s > 0 else 0.0
    # Slots busy right now are a floor too: the rates of a short window can miss long jobs.
    keep_up = max(rate * run_s, float(load.running)) / per_worker
    catch_up = sum(p.depth * run_s / p.sla_s for p in load.priorities.values() if p.sla_s > 0)
    catch_up /= policy.concurrency
    need = math.ceil(keep_up + catch_up - 1e-9)
    reason = f"keep up {keep_up:.2f} + catch up {catch_up:.2f}"
    # Late starts count while that priority still has a backlog: once it is drained, the window's
    # history of late starts says nothing about the workers needed now.
    lagging = [
        name
        for name, p in load.priorities.items()
        if p.depth > 0
        and (
            (p.started >= policy.min_starts and p.late > policy.late_share * p.started)
            or p.oldest_wait_s > p.sla_s
        )
    ]
    if lagging:
        step = current + max(1, current // 2)
        if step > need:
            need = step
            reason += f"; {', '.join(sorted(lagging))} over SLA: one step up"
    workers = min(policy.max_workers, max(policy.min_workers, need))
    return Decision(workers, reason)
