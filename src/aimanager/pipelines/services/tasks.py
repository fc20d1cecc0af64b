"""Durable task outcomes: what happened to each SKU on each marketplace, per capability.

A handler collects its tasks' outcomes in a ``TaskBook`` while it works, writes them with ``write``
inside the transaction that stores its effects (so a task says "done" exactly when its effect is
stored), then ``publish``-es them to the run's in-memory ``Progress`` (the demo's bars and reports).
``aimanager tasks list`` reads the table; ``aimanager tasks retry`` queues the failed ones again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite

from aimanager.db.models import TaskRecord
from aimanager.domain.enums import Capability, Marketplace
from aimanager.pipelines.services.progress import Progress

STATUSES = ("done", "failed", "needs_input", "skipped")
TASKS_TABLE: Table = TaskRecord.__table__  # type: ignore[assignment]  # mapped to a Table
# Above this many rows per statement SQLite runs out of bound parameters (9 columns a row).
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    partner_id: int
    capability: Capability
    marketplace: str  # "" for a partner-wide task (an analytics report)
    sku: str
    status: str
    reason: str | None


def bounded(reasons: list[str], limit: int = 1500) -> str:
    """The reasons of a job's failed items as one line for its error, cut at ``limit`` characters with
    the count of all of them (the tasks table keeps each in full)."""
    text = " | ".join(reasons)
    return text if len(text) <= limit else text[:limit].rsplit(" | ", 1)[0] + f" | … ({len(reasons)} in all)"


def progress_key(outcome: TaskOutcome) -> str:
    """How a task shows on the progress bars and in failure lists: ``SKU@marketplace``, or
    ``partner N`` for a partner-wide task."""
    if not outcome.marketplace and not outcome.sku:
        return f"partner {outcome.partner_id}"
    return f"{outcome.sku}@{outcome.marketplace}" if outcome.marketplace else outcome.sku


class TaskBook:
    """One handler run's task outcomes (the last word on a task wins); ``partner_id`` is the job's, and
    a batch handler whose jobs span partners names each outcome's own."""

    def __init__(self, partner_id: int, job_id: int | None = None, *, per_job: bool = False) -> None:
        self.partner_id = partner_id
        self.job_id = job_id
        # On the progress bars, each job's outcome of a task counts apart (an urgent repricing of a SKU
        # the run also prices is a second task there); the durable row keeps the latest either way.
        self.per_job = per_job
        self._outcomes: dict[tuple[int, Capability, str, str], TaskOutcome] = {}

    def done(
        self, capability: Capability, market: Marketplace | None, *skus: str, partner_id: int | None = None
    ) -> None:
        owner = self.partner_id if partner_id is None else partner_id
        for sku in skus:
            self._put(TaskOutcome(owner, capability, market.value if market else "", sku, "done", None))

    def failed(
        self,
        capability: Capability,
        market: Marketplace | None,
        sku: str,
        reason: str,
        status: str = "failed",
        *,
        partner_id: int | None = None,
    ) -> None:
        if status not in STATUSES or status == "done":
            raise ValueError(f"not a failure status: {status!r}")
        owner = self.partner_id if partner_id is None else partner_id
        self._put(TaskOutcome(owner, capability, market.value if market else "", sku, status, reason))

    def _put(self, o: TaskOutcome) -> None:
        self._outcomes[(o.partner_id, o.capability, o.marketplace, o.sku)] = o

    def __len__(self) -> int:
        return len(self._outcomes)

    async def write(self, session: Any) -> None:
        """Upsert every outcome in the caller's transaction (SQLite and PostgreSQL)."""
        if not self._outcomes:
            return
        now = datetime.now(UTC)
        rows = [
            {
                "partner_id": o.partner_id,
                "capability": o.capability.value,
                "marketplace": o.marketplace,
                "sku": o.sku,
                "status": o.status,
                "reason": o.reason[:2000] if o.reason else None,
                "job_id": self.job_id,
                "updated_at": now,
            }
            for o in self._outcomes.values()
        ]
        dialect = session.bind.dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        # One statement with the rows as parameters (executemany), on the table rather than the ORM
        # class: compiled once and cached. Rows inlined in a VALUES list were compiled anew every write,
        # ~6× the CPU of the write itself (0.16 ms per task row on SQLite).
        stmt = insert(TASKS_TABLE)
        stmt = stmt.on_conflict_do_update(
            index_elements=["partner_id", "capability", "marketplace", "sku"],
            set_={
                "status": stmt.excluded.status,
                "reason": stmt.excluded.reason,
                "job_id": stmt.excluded.job_id,
                "updated_at": stmt.excluded.updated_at,
            },
        )
        for start in range(0, len(rows), _CHUNK):
            await session.execute(stmt, rows[start : start + _CHUNK])

    def publish(self, progress: Progress) -> None:
        """Show the outcomes on the run's progress (after they are stored)."""
        for o in self._outcomes.values():
            key = f"{self.job_id}:{progress_key(o)}" if self.per_job else progress_key(o)
            if o.status == "done":
                progress.ok(o.capability, key)
            else:
                progress.fail(o.capability, key, o.reason or o.status)
