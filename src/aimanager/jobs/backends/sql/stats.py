"""Queue statistics in SQL (group-bys over the jobs table)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from aimanager.jobs.model import FINISHED, QueueStats
from aimanager.jobs.priority import Priority

_FINISHED = ", ".join(f"'{s.value}'" for s in FINISHED)


async def sql_stats(conn: AsyncConnection, now: float, window_s: float) -> QueueStats:
    """Compute :class:`QueueStats` with a handful of aggregate queries."""
    names = {int(p): p.name.lower() for p in Priority}
    stats = QueueStats()
    by_kind: dict[str, dict[str, int]] = {}
    by_status: dict[str, int] = {}
    for kind, status, n in await conn.execute(
        text("SELECT kind, status, count(*) FROM jobs GROUP BY kind, status")
    ):
        by_kind.setdefault(kind, {})[status] = int(n)
        by_status[status] = by_status.get(status, 0) + int(n)
    stats.by_kind = by_kind
    stats.by_status = by_status
    queued = dict.fromkeys(names.values(), 0)
    for prio, n in await conn.execute(
        text("SELECT priority, count(*) FROM jobs WHERE status = 'queued' GROUP BY priority")
    ):
        queued[names[int(prio)]] = int(n)
    stats.queued_by_priority = queued
    oldest = (
        await conn.execute(
            text("SELECT min(run_at) FROM jobs WHERE status = 'queued' AND run_at <= :now"), {"now": now}
        )
    ).scalar()
    stats.oldest_ready_wait_s = None if oldest is None else max(0.0, now - float(oldest))
    recent = (
        await conn.execute(
            text(f"SELECT count(*) FROM jobs WHERE status IN ({_FINISHED}) AND finished_at >= :since"),
            {"since": now - window_s},
        )
    ).scalar()
    stats.throughput_per_s = int(recent or 0) / window_s
    breaches = dict.fromkeys(names.values(), 0)
    started = dict.fromkeys(names.values(), 0)
    for prio, n_started, n_late in await conn.execute(
        text(
            "SELECT priority, count(*), sum(CASE WHEN started_at > deadline THEN 1 ELSE 0 END)"
            " FROM jobs WHERE started_at IS NOT NULL GROUP BY priority"
        )
    ):
        started[names[int(prio)]] = int(n_started)
        breaches[names[int(prio)]] += int(n_late or 0)
    for prio, n in await conn.execute(
        text(
            "SELECT priority, count(*) FROM jobs WHERE status = 'queued' AND run_at <= :now"
            " AND deadline < :now GROUP BY priority"
        ),
        {"now": now},
    ):
        breaches[names[int(prio)]] += int(n)
    stats.sla_breaches = breaches
    stats.started_by_priority = started
    return stats
