"""The queue tables' health on PostgreSQL: dead tuples, autovacuum, and what holds vacuum back.

A ``SKIP LOCKED`` queue rewrites its rows all day; vacuum can only reclaim row versions older than the
oldest snapshot any session still holds. One transaction left open (a stuck handler, a ``psql``
session, an abandoned replication slot) lets dead tuples pile up until every claim steps over them.
``aimanager jobs stats`` shows the dead tuples of each hot table and the oldest open transaction so an
operator sees it coming; the worker's own connections run with ``statement_timeout`` and
``idle_in_transaction_session_timeout`` (``WORKER_SESSION_SETTINGS``) so they cannot be that session.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

HOT_TABLES = ("jobs", "job_keys", "job_schedules")

# Server settings of a worker's connections (PostgreSQL). No statement of the engine or of a handler
# should take a minute; a transaction left idle for a minute (a handler awaiting an HTTP call inside
# one) holds vacuum's horizon back for every table, and is ended by the server.
WORKER_SESSION_SETTINGS = {
    "statement_timeout": "60s",
    "idle_in_transaction_session_timeout": "60s",
}


@dataclass(frozen=True, slots=True)
class TableHealth:
    table: str
    live_rows: int
    dead_rows: int
    last_autovacuum_age_s: float | None  # seconds since the last (auto)vacuum ended; None: never
    autovacuum_count: int
    options: list[str] = field(default_factory=list)  # fillfactor, autovacuum_* set on the table

    @property
    def dead_share(self) -> float:
        total = self.live_rows + self.dead_rows
        return self.dead_rows / total if total else 0.0


@dataclass(frozen=True, slots=True)
class QueueHealth:
    tables: list[TableHealth]
    oldest_transaction_age_s: float | None  # the longest-open transaction of any session
    oldest_transaction_app: str | None  # its application_name and state
    oldest_xmin_age: int | None  # transactions since the oldest snapshot still held (xid age)


async def queue_health(engine: AsyncEngine) -> QueueHealth | None:
    """The health of the hot tables, or None on SQLite (one writer, no MVCC bloat of this kind)."""
    if engine.dialect.name != "postgresql":
        return None
    tables_sql = text(
        "SELECT s.relname, s.n_live_tup, s.n_dead_tup,"
        " extract(epoch FROM now() - greatest(s.last_autovacuum, s.last_vacuum)),"
        " s.autovacuum_count + s.vacuum_count, c.reloptions"
        " FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid"
        " WHERE s.schemaname = current_schema() AND s.relname = ANY(:tables) ORDER BY s.relname"
    )
    oldest_sql = text(
        "SELECT extract(epoch FROM now() - xact_start), application_name, state, age(backend_xmin)"
        " FROM pg_stat_activity WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid()"
        " AND backend_type = 'client backend' ORDER BY xact_start LIMIT 1"
    )
    xmin_sql = text(
        "SELECT max(age(backend_xmin)) FROM pg_stat_activity"
        " WHERE backend_xmin IS NOT NULL AND pid <> pg_backend_pid()"
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(tables_sql, {"tables": list(HOT_TABLES)})).all()
        oldest = (await conn.execute(oldest_sql)).first()
        xmin_age = (await conn.execute(xmin_sql)).scalar()
    tables = [
        TableHealth(
            table=name,
            live_rows=int(live or 0),
            dead_rows=int(dead or 0),
            last_autovacuum_age_s=None if age is None else float(age),
            autovacuum_count=int(count or 0),
            options=list(options or []),
        )
        for name, live, dead, age, count, options in rows
    ]
    return QueueHealth(
        tables=tables,
        oldest_transaction_age_s=None if oldest is None else float(oldest[0]),
        oldest_transaction_app=None if oldest is None else f"{oldest[1] or '?'} ({oldest[2]})",
        oldest_xmin_age=None if xmin_age is None else int(xmin_age),
    )
