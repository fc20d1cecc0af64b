"""The engine's tables (``jobs``, ``job_keys``, ``job_schedules``, ``job_pauses``) on the one schema.

They are declared on ``aimanager.db.models.Base`` so Alembic migrates one metadata; the engine owns
them (no other code reads or writes them). Their times are epoch seconds (float): claims, leases and
token buckets are arithmetic done inside one SQL statement, identically on SQLite and PostgreSQL, and
the engine converts to timezone-aware datetimes at its boundary (``Job.*_dt``).
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Boolean, Double, Index, Integer, SmallInteger, String, Table, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from aimanager.db.models import Base, BigId


class JobRow(Base):
    """A unit of execution of the job engine."""

    __tablename__ = "jobs"
    __table_args__ = (
        # Ready rows by priority: finds the best priority that has work.
        Index(
            "ix_jobs_ready_priority",
            "priority",
            "run_at",
            sqlite_where=text("status = 'queued'"),
            postgresql_where=text("status = 'queued'"),
        ),
        # Ready rows of one key: the batch claim.
        Index(
            "ix_jobs_ready_key",
            "batch_key",
            "priority",
            "id",
            sqlite_where=text("status = 'queued'"),
            postgresql_where=text("status = 'queued'"),
        ),
        # Leased rows: the reaper and heartbeats.
        Index(
            "ix_jobs_running_lease",
            "lease_until",
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
        Index(
            "uq_jobs_unique_key",
            "unique_key",
            unique=True,
            sqlite_where=text("unique_key IS NOT NULL"),
            postgresql_where=text("unique_key IS NOT NULL"),
        ),
        Index("ix_jobs_status_finished", "status", "finished_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64))
    partner_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    batch_key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text, default="{}")
    priority: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    enqueued_at: Mapped[float] = mapped_column(Double)
    run_at: Mapped[float] = mapped_column(Double)
    deadline: Mapped[float] = mapped_column(Double)
    started_at: Mapped[float | None] = mapped_column(Double, nullable=True)
    finished_at: Mapped[float | None] = mapped_column(Double, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # starts: the fence of each attempt
    # Starts lost to an expired lease (a killed worker): bounded apart from handler errors.
    crashes: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    lease_until: Mapped[float | None] = mapped_column(Double, nullable=True)
    worker_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    unique_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    result: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Timings of the last attempt that started: time waited in the queue and run time (ms).
    queue_wait_ms: Mapped[float | None] = mapped_column(Double, nullable=True)
    run_ms: Mapped[float | None] = mapped_column(Double, nullable=True)


class JobKey(Base):
    """One row per batch key: the fairness cursor and the key's token bucket.

    The claim picks the least recently served key that has ready work and a token, so a key with 5 jobs
    is served as soon as one with 50,000 (round robin), and a rate-limited key never gets ahead of its
    bucket.
    """

    __tablename__ = "job_keys"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_claim_at: Mapped[float] = mapped_column(Double, default=0.0)
    rate: Mapped[float | None] = mapped_column(Double, nullable=True)  # tokens per second
    burst: Mapped[float | None] = mapped_column(Double, nullable=True)
    tokens: Mapped[float | None] = mapped_column(Double, nullable=True)
    refilled_at: Mapped[float | None] = mapped_column(Double, nullable=True)


class JobSchedule(Base):
    """A job enqueued every ``every_s`` seconds (the engine's cron): the spec of the job, and when it is
    next due. Firing moves ``next_at`` with a compare-and-set in the same transaction that enqueues the
    job, so any number of workers fire each period exactly once; after downtime, ``next_at`` moves to
    now + every_s, so a missed stretch fires once, not once per missed period."""

    __tablename__ = "job_schedules"
    __table_args__ = (Index("ix_job_schedules_due", "next_at"),)

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    partner_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    payload: Mapped[str] = mapped_column(Text, default="{}")
    priority: Mapped[int] = mapped_column(SmallInteger)
    batch_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    every_s: Mapped[float] = mapped_column(Double)
    next_at: Mapped[float] = mapped_column(Double)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    last_fired_at: Mapped[float | None] = mapped_column(Double, nullable=True)
    fired: Mapped[int] = mapped_column(Integer, default=0)


class JobPause(Base):
    """A paused job kind (``scope`` kind) or partner (``scope`` partner, ``value`` its id): claims skip
    its queued jobs until the row is deleted (see ``jobs.pauses``). A handful of rows at most."""

    __tablename__ = "job_pauses"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    paused_by: Mapped[str | None] = mapped_column(String(96), nullable=True)
    paused_at: Mapped[float] = mapped_column(Double)


jobs_t = cast(Table, JobRow.__table__)
pauses_t = cast(Table, JobPause.__table__)
keys_t = cast(Table, JobKey.__table__)
schedules_t = cast(Table, JobSchedule.__table__)
