"""Measuring the queue for the autoscaler, and the loop that applies its answer.

``LoadSampler`` reads the ``jobs`` table with indexed queries only (the ready rows by priority, the
running rows, the rows finished in the window), so a scrape or a scaling tick costs the same behind
a million finished jobs. ``autoscale_loop`` asks ``desired_workers`` every few seconds, publishes the
answer, and has the supervisor follow it: up at once, down only once the need stayed lower for
``down_after_s`` (a lull between two bursts does not stop workers that the next burst needs).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Mapping

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from aimanager.logs import get_logger
from aimanager.ops.autoscale import Decision, Load, PriorityLoad, ScalePolicy, desired_workers
from aimanager.ops.metrics import PRIORITY_NAMES

log = get_logger(__name__)
_ENDED = "('succeeded', 'failed', 'dead')"

READY = text(
    "SELECT priority, count(*), min(run_at) FROM jobs WHERE status = 'queued' AND run_at <= :now"
    " GROUP BY priority"
)
FINISHED = text(f"SELECT count(*), avg(run_ms) FROM jobs WHERE status IN {_ENDED} AND finished_at >= :since")
STARTS = text(
    "SELECT priority, count(*), sum(CASE WHEN started_at > deadline THEN 1 ELSE 0 END) FROM jobs"
    f" WHERE ((status IN {_ENDED} AND finished_at >= :since) OR status = 'running')"
    " AND started_at >= :since GROUP BY priority"
)
RUNNING = text("SELECT count(*), count(DISTINCT worker_id) FROM jobs WHERE status = 'running'")


class LoadSampler:
    """Measures :class:`Load` over the last ``window_s``; ``slas``: start SLA by priority number."""

    def __init__(
        self,
        engine: AsyncEngine,
        slas: Mapping[int, float],
        *,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.slas = dict(slas)
        self.window_s = window_s
        self.clock = clock
        self._last: tuple[float, int] | None = None  # (when, backlog) of the previous sample
        self.holders = 0  # distinct workers holding jobs at the last sample (processes seen busy)

    async def sample(self) -> Load:
        now = self.clock()
        since = now - self.window_s
        async with self.engine.connect() as conn:
            ready = (await conn.execute(READY, {"now": now})).all()
            finished, mean_ms = (await conn.execute(FINISHED, {"since": since})).one()
            starts = (await conn.execute(STARTS, {"since": since})).all()
            running, holders = (await conn.execute(RUNNING)).one()
        running, self.holders = int(running or 0), int(holders or 0)
        prios: dict[int, dict[str, float]] = {p: {} for p in self.slas}
        for prio, depth, oldest in ready:
            prios.setdefault(int(prio), {}).update(depth=int(depth), oldest=max(0.0, now - float(oldest)))
        for prio, started, late in starts:
            prios.setdefault(int(prio), {}).update(started=int(started), late=int(late or 0))
        finished = int(finished or 0)
        backlog = sum(int(p.get("depth", 0)) for p in prios.values()) + running
        # Arrivals: what finished plus how much the backlog grew since the last sample, per second
        # (no index on enqueued_at is needed; the first sample assumes a steady queue).
        arrived = float(finished)
        if self._last is not None and now > self._last[0]:
            grew_per_s = (backlog - self._last[1]) / (now - self._last[0])
            arrived = max(0.0, finished + grew_per_s * self.window_s)
        self._last = (now, backlog)
        return Load(
            window_s=self.window_s,
            arrived=arrived,
            finished=finished,
            mean_run_s=float(mean_ms or 0.0) / 1000.0,
            running=running,
            priorities={
                PRIORITY_NAMES.get(p, str(p)): PriorityLoad(
                    sla_s=self.slas.get(p, 300.0),
                    depth=int(v.get("depth", 0)),
                    oldest_wait_s=float(v.get("oldest", 0.0)),
                    started=int(v.get("started", 0)),
                    late=int(v.get("late", 0)),
                )
                for p, v in sorted(prios.items())
            },
        )


class Stabiliser:
    """Scale up at once; scale down to the highest need seen over the last ``down_after_s``."""

    def __init__(self, down_after_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.down_after_s = down_after_s
        self.clock = clock
        self._seen: deque[tuple[float, int]] = deque()

    def apply(self, desired: int) -> int:
        now = self.clock()
        self._seen.append((now, desired))
        while self._seen and self._seen[0][0] < now - self.down_after_s:
            self._seen.popleft()
        return max(n for _, n in self._seen)


async def autoscale_loop(
    sampler: LoadSampler,
    policy: ScalePolicy,
    current: Callable[[], int],
    apply: Callable[[int], None],
    publish: Callable[[Decision], None],
    *,
    every_s: float = 5.0,
    down_after_s: float = 60.0,
) -> None:
    """Every ``every_s``: measure, decide, publish, and have the supervisor follow (stabilised)."""
    stable = Stabiliser(down_after_s)
    while True:
        try:
            load = await sampler.sample()
        except Exception as exc:  # the database is away: keep the workers as they are
            log.warning("ops.autoscale.sample_failed", error=str(exc)[:200])
        else:
            now = current()
            decision = desired_workers(load, now, policy)
            publish(decision)
            target = stable.apply(decision.workers)
            if target != now:
                log.info("ops.autoscale.scale", workers=now, to=target, reason=decision.reason)
                apply(target)
        await asyncio.sleep(every_s)
