"""CLI: one job in full (``aimanager jobs show``), the queue tables' health (``jobs stats``), and
pausing a job kind or a partner (``jobs pause|resume|pauses``)."""

from __future__ import annotations

import getpass
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from aimanager.cli.app import jobs_app
from aimanager.errors import StoreError
from aimanager.jobs.backends.sql.health import QueueHealth

console = Console()
# Past these, ``jobs stats`` flags the table or the transaction: vacuum is falling behind, or something
# holds its horizon back (the reason queue tables bloat in production).
DEAD_SHARE_WARN = 0.2
OLD_TRANSACTION_WARN_S = 300.0


def _when(ts: float | None) -> str:
    from aimanager.jobs.model import to_datetime

    dt = to_datetime(ts)
    return "-" if dt is None else dt.isoformat(timespec="milliseconds")


@jobs_app.command("show")
def jobs_show(job_id: int) -> None:
    """One job: status, attempts (handler errors apart from crashes), times, lease and last error."""
    from aimanager.cli.engine_cmd import open_backend, run

    async def body() -> None:
        backend = await open_backend()
        try:
            job = await backend.get(job_id)
        finally:
            await backend.close()
        if job is None:
            raise StoreError(f"no job with id {job_id}")
        t = Table("field", "value", title=f"job {job.id}", show_header=False)
        rows = [
            ("kind", job.kind),
            ("partner", str(job.partner_id if job.partner_id is not None else "-")),
            ("batch key", job.batch_key),
            ("priority", job.priority.name.lower()),
            ("status", job.status.value),
            ("handler attempts", f"{job.handler_attempts}/{job.max_attempts}"),
            ("crashes", f"{job.crashes} (attempts lost to an expired lease)"),
            ("enqueued", _when(job.enqueued_at)),
            ("run at", _when(job.run_at)),
            ("deadline", _when(job.deadline)),
            ("started", _when(job.started_at)),
            ("finished", _when(job.finished_at)),
            ("worker", job.worker_id or "-"),
            ("lease until", _when(job.lease_until)),
            ("unique key", job.unique_key or "-"),
            ("queue wait", "-" if job.queue_wait_ms is None else f"{job.queue_wait_ms:.1f} ms"),
            ("run time", "-" if job.run_ms is None else f"{job.run_ms:.1f} ms"),
            ("last error", job.last_error or "-"),
            ("payload", str(job.payload)[:2000]),
        ]
        for name, value in rows:
            t.add_row(name, value)
        console.print(t)

    run(body)


def print_health(health: QueueHealth | None) -> None:
    """The hot tables' dead tuples and the oldest open transaction (PostgreSQL; nothing on SQLite)."""
    if health is None:
        return
    t = Table("table", "live rows", "dead rows", "dead %", "last vacuum", "vacuums", title="queue tables")
    for h in health.tables:
        age = "never" if h.last_autovacuum_age_s is None else f"{h.last_autovacuum_age_s:.0f} s ago"
        share = f"{100 * h.dead_share:.0f} %" + (" (!)" if h.dead_share > DEAD_SHARE_WARN else "")
        t.add_row(h.table, str(h.live_rows), str(h.dead_rows), share, age, str(h.autovacuum_count))
    console.print(t)
    if health.oldest_transaction_age_s is None:
        console.print("oldest open transaction: none")
    else:
        flag = " (!) it holds back vacuum" if health.oldest_transaction_age_s > OLD_TRANSACTION_WARN_S else ""
        console.print(
            f"oldest open transaction: {health.oldest_transaction_age_s:.1f} s,"
            f" {health.oldest_transaction_app}{flag}; oldest snapshot xid age: {health.oldest_xmin_age or 0}"
        )


def _pause_target(kind: str | None, partner: str | None) -> None:
    if (kind is None) == (partner is None):
        raise typer.BadParameter("give --kind K or --partner P (one of them)")


async def _partner_id(backend: Any, ref: str) -> int:
    from aimanager.db.engine import session_factory
    from aimanager.pipelines.services.directory import find_partner

    async with session_factory(backend.engine)() as session:
        row = await find_partner(session, ref)
    if row is None:
        raise typer.BadParameter(f"no partner {ref!r}", param_hint="'--partner'")
    return row.id


@jobs_app.command("pause")
def jobs_pause(
    kind: str | None = typer.Option(None, "--kind", "-k", help="A job kind, e.g. cards.generate."),
    partner: str | None = typer.Option(None, "--partner", "-p", help="A partner slug or id."),
    reason: str | None = typer.Option(None, "--reason", "-r", help="Why (shown with the pause)."),
    by: str = typer.Option(getpass.getuser(), "--by", help="Who pauses."),
) -> None:
    """Pause a job kind or a partner: workers pass over its queued jobs (running ones finish) until
    `jobs resume`. Every worker sees it within a second."""
    from aimanager.cli.engine_cmd import open_backend, run

    _pause_target(kind, partner)

    async def body() -> bool:
        backend = await open_backend()
        try:
            pid = await _partner_id(backend, partner) if partner is not None else None
            return await backend.pause(kind=kind, partner_id=pid, reason=reason, by=by)
        finally:
            await backend.close()

    what = f"kind {kind}" if kind is not None else f"partner {partner}"
    console.print(f"{what}: paused" if run(body) else f"{what}: already paused")


@jobs_app.command("resume")
def jobs_resume(
    kind: str | None = typer.Option(None, "--kind", "-k", help="A paused job kind."),
    partner: str | None = typer.Option(None, "--partner", "-p", help="A paused partner's slug or id."),
) -> None:
    """Resume a paused job kind or partner: its queued jobs are claimed again."""
    from aimanager.cli.engine_cmd import open_backend, run

    _pause_target(kind, partner)

    async def body() -> bool:
        backend = await open_backend()
        try:
            pid = await _partner_id(backend, partner) if partner is not None else None
            return await backend.resume(kind=kind, partner_id=pid)
        finally:
            await backend.close()

    what = f"kind {kind}" if kind is not None else f"partner {partner}"
    console.print(f"{what}: resumed" if run(body) else f"{what}: was not paused")


@jobs_app.command("pauses")
def jobs_pauses() -> None:
    """The kinds and partners paused now."""
    from aimanager.cli.engine_cmd import open_backend, run

    async def body() -> list[Any]:
        backend = await open_backend()
        try:
            return await backend.list_pauses()
        finally:
            await backend.close()

    t = Table("scope", "value", "since", "by", "reason", title="paused")
    for p in run(body):
        t.add_row(p.scope, p.value, _when(p.paused_at), p.paused_by or "-", p.reason or "-")
    console.print(t)
