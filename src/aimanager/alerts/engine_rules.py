"""Rules over the job engine's table: refused credentials, dead jobs, breached start deadlines.

The ``jobs`` table is read by name: ``alerts`` and ``jobs`` are sibling services and do not import
each other. Its times are epoch seconds.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import timedelta

from sqlalchemy import Double, Integer, String, Text, column, func, or_, select, table

from aimanager.alerts.findings import Finding, RuleContext, Severity, plural
from aimanager.db.models import TaskRecord

jobs = table(
    "jobs",
    column("id", Integer),
    column("kind", String),
    column("partner_id", Integer),
    column("priority", Integer),
    column("status", String),
    column("deadline", Double),
    column("finished_at", Double),
    column("attempts", Integer),
    column("last_error", Text),
)
# The engine's priorities by number (``aimanager.jobs.priority``).
PRIORITY_NAMES = ("urgent", "high", "medium", "low")
# A refused token counts while its failed job is this recent (or still retrying): a dead job stays
# for the retention period, long after someone connected a new token.
REFUSAL_WINDOW = timedelta(days=1)
_AUTH_MARKET = re.compile(r"AuthError: (\w+) ")


async def token_refused(ctx: RuleContext) -> list[Finding]:
    auth = or_(
        TaskRecord.reason.like("%AuthError%"),
        TaskRecord.reason.like("%status=401%"),
        TaskRecord.reason.like("%status=403%"),
    )
    found: dict[tuple[int | None, str], list[str]] = defaultdict(list)
    tasks = await ctx.session.execute(
        select(TaskRecord.partner_id, TaskRecord.marketplace, TaskRecord.reason).where(
            TaskRecord.status.in_(("failed", "needs_input")), auth
        )
    )
    for task_partner, task_market, reason in tasks.all():
        found[(task_partner, task_market or "")].append(reason or "")
    since = (ctx.now - REFUSAL_WINDOW).timestamp()
    failed_jobs = await ctx.session.execute(
        select(jobs.c.partner_id, jobs.c.last_error).where(
            jobs.c.last_error.like("AuthError%"),
            or_(
                (jobs.c.status.in_(("failed", "dead"))) & (jobs.c.finished_at >= since),
                (jobs.c.status == "queued") & (jobs.c.attempts > 0),
            ),
        )
    )
    for job_partner, error in failed_jobs.all():
        match = _AUTH_MARKET.match(error or "")
        found[(job_partner, match.group(1) if match else "")].append(error or "")
    out = []
    for (pid, market), reasons in sorted(found.items(), key=lambda kv: (kv[0][0] or 0, kv[0][1])):
        slug = ctx.slug(pid)
        where = market or "a marketplace"
        action = (
            f"aimanager accounts connect -p {slug} -m {market} --credential …"
            if market
            else f"aimanager accounts list -p {slug}"
        )
        out.append(
            Finding(
                "token.refused",
                f"token.refused:p{pid}:{market}",
                Severity.CRITICAL,
                f"{slug}: {where} refused the account's credentials ({plural(len(reasons), 'failure')}) — "
                + reasons[0][:300],
                action,
                pid,
            )
        )
    return out


async def jobs_dead(ctx: RuleContext) -> list[Finding]:
    rows = (
        await ctx.session.execute(
            select(jobs.c.partner_id, jobs.c.kind, func.count(), func.max(jobs.c.id))
            .where(jobs.c.status == "dead")
            .group_by(jobs.c.partner_id, jobs.c.kind)
        )
    ).all()
    out = []
    for pid, kind, n, last_id in rows:
        last_error = (
            await ctx.session.execute(select(jobs.c.last_error).where(jobs.c.id == last_id))
        ).scalar_one_or_none()
        who = ctx.slug(pid) if pid is not None else "operator"
        out.append(
            Finding(
                "jobs.dead",
                f"jobs.dead:p{pid}:{kind}",
                Severity.WARNING,
                f"{who}: {plural(int(n), kind + ' job')} dead after every attempt — last: "
                f"{(last_error or 'no error recorded')[:300]}",
                f"aimanager jobs list --status dead --kind {kind}; then `aimanager jobs retry <ids>`",
                pid,
            )
        )
    return out


async def sla_breached(ctx: RuleContext) -> list[Finding]:
    now = ctx.now.timestamp()
    rows = (
        await ctx.session.execute(
            select(jobs.c.priority, func.count(), func.min(jobs.c.deadline))
            .where(jobs.c.status == "queued", jobs.c.deadline < now)
            .group_by(jobs.c.priority)
        )
    ).all()
    out = []
    for prio, n, oldest in rows:
        name = PRIORITY_NAMES[prio] if 0 <= prio < len(PRIORITY_NAMES) else str(prio)
        out.append(
            Finding(
                "sla.breached",
                f"sla.breached:{name}",
                Severity.CRITICAL if prio <= 1 else Severity.WARNING,
                f"{plural(int(n), name + '-priority job')} waiting past the start deadline "
                f"(the oldest {now - float(oldest):.0f} s late); are the workers running?",
                "aimanager jobs stats",
            )
        )
    return out
