"""The operator's overview in one call: queue depth and age per priority, start-SLA compliance,
throughput, the error rate of the last hour's tasks, AI spend today, active alerts.

Every number is an indexed look-up or a bounded range: the engine's own ``stats()``; per priority,
the oldest ready job through the ready index (``ix_jobs_ready_priority``); the last hour of tasks
through ``ix_tasks_updated``; today's ledger rows through ``ix_ai_usage_logs_created``; active alerts
through ``ix_alerts_status_last_seen``. The console polls it for its live page; one partner's view is
``partner_overview``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aimanager.alerts.tables import Alert
from aimanager.jobs import Backend, JobStatus, Priority
from aimanager.jobs.backends.sql.tables import jobs_t
from aimanager.pipelines.services import spend as spending
from aimanager.pipelines.services.task_queries import TaskFilter, count_by_status

ERROR_WINDOW = timedelta(hours=1)


@dataclass
class PriorityLine:
    name: str
    queued: int
    oldest_wait_s: float | None
    sla_s: float
    started: int
    breaches: int

    @property
    def sla_ok_pct(self) -> float | None:
        """Share of started jobs that started within their priority's SLA (None before any started)."""
        return None if not self.started else 100.0 * max(0, self.started - self.breaches) / self.started


@dataclass
class Overview:
    at: datetime
    priorities: list[PriorityLine] = field(default_factory=list)
    running: int = 0
    throughput_per_s: float = 0.0
    tasks_last_hour: dict[str, int] = field(default_factory=dict)
    spend_today_usd: Decimal = Decimal(0)
    llm_calls_today: int = 0
    active_alerts: int = 0

    @property
    def error_rate_pct(self) -> float | None:
        total = sum(self.tasks_last_hour.values())
        return None if not total else 100.0 * self.tasks_last_hour.get("failed", 0) / total


async def _oldest_ready(session: AsyncSession, priority: Priority, now: float) -> float | None:
    oldest = (
        await session.execute(
            select(func.min(jobs_t.c.run_at)).where(
                jobs_t.c.status == JobStatus.QUEUED.value,
                jobs_t.c.priority == int(priority),
                jobs_t.c.run_at <= now,
            )
        )
    ).scalar()
    return None if oldest is None else max(0.0, now - float(oldest))


async def overview(session: AsyncSession, backend: Backend, now: datetime | None = None) -> Overview:
    at = now or datetime.now(UTC)
    stats = await backend.stats()
    out = Overview(at=at, running=stats.by_status.get("running", 0), throughput_per_s=stats.throughput_per_s)
    epoch = backend.clock()
    for p in Priority:
        name = p.name.lower()
        out.priorities.append(
            PriorityLine(
                name=name,
                queued=stats.queued_by_priority.get(name, 0),
                oldest_wait_s=await _oldest_ready(session, p, epoch),
                sla_s=p.start_sla_seconds,
                started=stats.started_by_priority.get(name, 0),
                breaches=stats.sla_breaches.get(name, 0),
            )
        )
    out.tasks_last_hour = await count_by_status(session, TaskFilter(updated_from=at - ERROR_WINDOW))
    today = spending.day_start(at.date())
    for row in await spending.spend(
        session, None, group="model", since=today, until=at + timedelta(seconds=1)
    ):
        out.spend_today_usd += row.cost_usd
        out.llm_calls_today += row.calls
    out.active_alerts = int(
        (
            await session.execute(select(func.count()).select_from(Alert).where(Alert.status == "active"))
        ).scalar()
        or 0
    )
    return out


@dataclass
class PartnerOverview:
    tasks: dict[str, int]
    spend_today_usd: Decimal
    active_alerts: int


async def partner_overview(
    session: AsyncSession, partner_id: int, now: datetime | None = None
) -> PartnerOverview:
    """One partner's live numbers: its tasks per status, its spend today, its active alerts."""
    at = now or datetime.now(UTC)
    tasks = await count_by_status(session, TaskFilter(frozenset({partner_id})))
    rows = await spending.spend(
        session,
        {partner_id},
        group="model",
        since=spending.day_start(at.date()),
        until=at + timedelta(seconds=1),
    )
    alerts = (
        await session.execute(
            select(func.count())
            .select_from(Alert)
            .where(Alert.partner_id == partner_id, Alert.status == "active")
        )
    ).scalar()
    return PartnerOverview(tasks, sum((r.cost_usd for r in rows), Decimal(0)), int(alerts or 0))
