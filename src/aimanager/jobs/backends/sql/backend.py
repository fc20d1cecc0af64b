"""The SQL backend over SQLAlchemy Core: SQLite (embedded default) and PostgreSQL (distributed)."""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from aimanager.db.pool import ENGINE, db_priority
from aimanager.jobs.backends.sql import pg_fast
from aimanager.jobs.backends.sql import statements as q
from aimanager.jobs.backends.sql.admin import SQLAdministration
from aimanager.jobs.backends.sql.pauses import SQLPauses
from aimanager.jobs.backends.sql.schedules import SQLSchedules
from aimanager.jobs.backends.sql.sqlite_fast import claim_rows, complete_rows
from aimanager.jobs.backends.sql.tables import jobs_t, keys_t
from aimanager.jobs.backends.sql.wakeups import SQLWakeups
from aimanager.jobs.model import (
    JOB_BACKOFF,
    JOIN_AHEAD_S,
    MAX_CRASHES,
    Clock,
    Completion,
    EnqueueResult,
    Job,
    JobSpec,
    JobStatus,
    encode_payload,
    system_clock,
)
from aimanager.jobs.priority import Priority
from aimanager.logs import get_logger

log = get_logger("aimanager.jobs.sql")


def _id(job: Job) -> int:
    return job.id


INSERT_CHUNK = 1000


class SQLBackend(SQLAdministration, SQLSchedules, SQLWakeups, SQLPauses):
    """Jobs in the ``jobs`` table; see ``statements`` for the claim. Schema comes from migrations."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Clock = system_clock,
        rng: random.Random | None = None,
        owns_engine: bool = False,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.dialect = engine.dialect.name
        self._rng = rng or random.Random()
        self._owns_engine = owns_engine
        self._init_wakeups()
        self._insert = sqlite_insert if self.dialect == "sqlite" else pg_insert
        self._autocommit = (
            engine.execution_options(isolation_level="AUTOCOMMIT") if self.dialect == "postgresql" else None
        )

    @contextlib.asynccontextmanager
    async def _write(self, *, one_statement: bool = False) -> AsyncIterator[AsyncConnection]:
        """A write transaction of the engine's own, served before other waiters for a connection.

        (On SQLite the engine has one connection per process, so writers of this process queue for it
        in asyncio rather than in SQLite's sleeping busy handler; a claim must not wait behind ~100
        handlers' transactions.) ``one_statement``: the caller runs a single statement, which
        PostgreSQL makes atomic on its own, so it runs without ``BEGIN``/``COMMIT``: one round trip
        instead of three on the claim's and ack's hot path."""
        with db_priority(ENGINE):
            if one_statement and self._autocommit is not None:
                async with self._autocommit.connect() as conn:
                    yield conn
                return
            async with self.engine.begin() as conn:
                yield conn

    @contextlib.asynccontextmanager
    async def _sqlite_connection(self) -> AsyncIterator[AsyncConnection]:
        """The engine's SQLite connection, served first, with no transaction open: ``sqlite_fast``
        runs its own ``BEGIN IMMEDIATE`` on the connection's thread."""
        with db_priority(ENGINE):
            async with self.engine.connect() as conn:
                yield conn

    async def close(self) -> None:
        await self._close_wakeups()
        if self._owns_engine:
            await self.engine.dispose()

    # -- enqueue -------------------------------------------------------------------------------

    async def enqueue_many(self, specs: Sequence[JobSpec], *, conn: Any = None) -> EnqueueResult:
        now = self.clock()
        rows = [spec.row(now) for spec in specs]  # validates every spec before anything is written
        seen: set[str] = set()
        skipped: list[str] = []
        unique_rows: list[dict[str, Any]] = []
        for row in rows:
            ukey = row["unique_key"]
            if ukey is not None:
                if ukey in seen:
                    skipped.append(ukey)
                    continue
                seen.add(ukey)
            unique_rows.append(row)
        if not unique_rows:
            return EnqueueResult(ids=[], skipped_unique_keys=skipped)
        if conn is not None:
            ids, inserted_keys = await self._insert_rows(conn, unique_rows)
            if self.dialect == "postgresql":
                await self._notify_in(conn)
        else:
            async with self._write() as own:
                ids, inserted_keys = await self._insert_rows(own, unique_rows)
            self._notify_soon()
        skipped.extend(k for k in seen if k not in inserted_keys)
        return EnqueueResult(ids=ids, skipped_unique_keys=skipped)

    async def _insert_rows(
        self, conn: AsyncConnection, rows: list[dict[str, Any]]
    ) -> tuple[list[int], set[str]]:
        ids: list[int] = []
        inserted_keys: set[str] = set()
        keys = sorted({r["batch_key"] for r in rows})
        # A new key joins the rotation at the back, as if served now. At 0 it went ahead of every key
        # already waiting, and a steady flow of new keys (each partner's pricing and stock, queued as
        # its cards came out) kept the keys with work left (the other partners' cards) waiting for
        # twenty minutes at 1,000 partners. A millisecond before now: behind every key served before,
        # ahead of one served in this same instant (a frozen test clock; a burst of enqueues and claims).
        joined = self.clock() - JOIN_AHEAD_S
        for start in range(0, len(keys), INSERT_CHUNK):
            chunk = [{"key": k, "last_claim_at": joined} for k in keys[start : start + INSERT_CHUNK]]
            key_stmt = self._insert(keys_t).values(chunk)
            # A parked key (no work when it was last looked at) comes back at its old place in the
            # rotation.
            unpark = {"last_claim_at": q.unparked(keys_t.c.last_claim_at)}
            if self.dialect == "postgresql":
                # Touch existing keys (a row lock until this transaction ends, and a new row version)
                # so neither ``prune`` nor ``park_idle_keys`` acts on a key whose new jobs it does not
                # see yet (see ``_prune_keys``).
                key_stmt = key_stmt.on_conflict_do_update(index_elements=["key"], set_=unpark)
            else:
                key_stmt = key_stmt.on_conflict_do_update(
                    index_elements=["key"], set_=unpark, where=keys_t.c.last_claim_at >= q.PARKED
                )
            await conn.execute(key_stmt)
        # An executemany with RETURNING: SQLAlchemy's "insertmanyvalues" sends one multi-row INSERT
        # per chunk of rows from one cached compiled statement.
        stmt = (
            self._insert(jobs_t)
            .on_conflict_do_nothing(
                index_elements=["unique_key"], index_where=jobs_t.c.unique_key.isnot(None)
            )
            .returning(jobs_t.c.id, jobs_t.c.unique_key)
        )
        for job_id, ukey in (await conn.execute(stmt, rows)).all():
            ids.append(int(job_id))
            if ukey is not None:
                inserted_keys.add(ukey)
        ids.sort()  # ids grow in insertion order within a statement on both dialects
        return ids, inserted_keys

    # -- claim ---------------------------------------------------------------------------------

    async def claim(
        self,
        worker_id: str,
        limit: int,
        *,
        lease_s: float,
        kinds: Sequence[str] | None = None,
        max_priority: Priority | None = None,
    ) -> list[Job]:
        if limit <= 0:
            return []
        now = self.clock()
        maxp = None if max_priority is None else int(max_priority)
        paused = await self._pauses_now()
        if self.dialect == "sqlite":
            async with self._sqlite_connection() as conn:
                rows = await claim_rows(
                    conn,
                    worker_id,
                    limit,
                    now=now,
                    lease_s=lease_s,
                    kinds=kinds,
                    max_priority=maxp,
                    paused=paused,
                )
            jobs = [pg_fast.job_from_values(r) for r in rows]
        else:
            params: dict[str, Any] = {"now": now, "n": limit, "w": worker_id, "lease": now + lease_s}
            if kinds is not None:
                params["kinds"] = list(kinds)
            if maxp is not None:
                params["maxp"] = maxp
            if paused:
                params["pkinds"] = sorted(paused.kinds)
                params["pparts"] = sorted(paused.partners)
            async with self._write(one_statement=True) as conn:
                jobs = await pg_fast.claim_jobs(
                    conn, kinds is not None, maxp is not None, bool(paused), params
                )
        return sorted(jobs, key=_id)

    # -- ending attempts -------------------------------------------------------------------------

    async def heartbeat(self, worker_id: str, job_ids: Sequence[int], lease_s: float) -> int:
        if not job_ids:
            return 0
        async with self._write(one_statement=True) as conn:
            res = await conn.execute(
                q.HEARTBEAT, {"lease": self.clock() + lease_s, "w": worker_id, "ids": list(job_ids)}
            )
        return int(res.rowcount)

    async def complete(self, worker_id: str, completions: Sequence[Completion]) -> int:
        if not completions:
            return 0
        now = self.clock()
        results = [None if c.result is None else json.dumps(c.result) for c in completions]
        if self.dialect == "sqlite":
            rows = [
                {
                    "now": now,
                    "w": worker_id,
                    "id": c.job_id,
                    "att": c.attempts,
                    "run_ms": c.run_ms,
                    "result": r,
                }
                for c, r in zip(completions, results, strict=True)
            ]
            async with self._sqlite_connection() as conn:
                return await complete_rows(conn, rows)
        params = {
            "now": now,
            "w": worker_id,
            "ids": [c.job_id for c in completions],
            "atts": [c.attempts for c in completions],
            "ms": [c.run_ms for c in completions],
            "results": results,
        }
        async with self._write(one_statement=True) as conn:
            return await pg_fast.complete(conn, params)

    async def retry_later(
        self,
        worker_id: str,
        job: Job,
        error: str,
        delay: float | None = None,
        payload: dict[str, Any] | None = None,
    ) -> JobStatus | None:
        now = self.clock()
        wait = delay if delay is not None else JOB_BACKOFF.delay(job.handler_attempts, self._rng)
        async with self._write(one_statement=True) as conn:
            status = (
                await conn.execute(
                    q.RETRY_LATER,
                    {
                        "err": error[:4000],
                        "now": now,
                        "run_at": now + wait,
                        "sla": job.priority.start_sla_seconds,
                        "id": job.id,
                        "w": worker_id,
                        "att": job.attempts,
                        "payload": None if payload is None else encode_payload(payload),
                    },
                )
            ).scalar()
        return None if status is None else JobStatus(status)

    async def snooze(
        self, worker_id: str, job: Job, delay: float, payload: dict[str, Any] | None = None
    ) -> bool:
        run_at = self.clock() + delay
        params = {
            "run_at": run_at,
            "sla": job.priority.start_sla_seconds,
            "payload": None if payload is None else encode_payload(payload),
        }
        async with self._write(one_statement=True) as conn:
            res = await conn.execute(q.SNOOZE, {**params, "id": job.id, "w": worker_id, "att": job.attempts})
        return bool(res.rowcount)

    async def fail(self, worker_id: str, job: Job, error: str, payload: dict[str, Any] | None = None) -> bool:
        params = {
            "err": error[:4000],
            "now": self.clock(),
            "payload": None if payload is None else encode_payload(payload),
        }
        async with self._write(one_statement=True) as conn:
            res = await conn.execute(q.FAIL, {**params, "id": job.id, "w": worker_id, "att": job.attempts})
        return bool(res.rowcount)

    async def release(self, worker_id: str, job_ids: Sequence[int]) -> int:
        if not job_ids:
            return 0
        async with self._write(one_statement=True) as conn:
            res = await conn.execute(q.RELEASE, {"w": worker_id, "ids": list(job_ids)})
        self._notify_soon()
        return int(res.rowcount)

    async def park_idle_keys(self) -> int:
        """Park the keys with no queued and no running job, so claims pass over them cheaply."""
        async with self._write(one_statement=True) as conn:
            res = await conn.execute(q.park_idle_keys(self.dialect))
        return int(res.rowcount)

    async def drained(self) -> bool:
        # Two probes of the partial indexes, not the group-bys of ``stats``: ``--until-idle``
        # workers ask this several times a second.
        async with self.engine.connect() as conn:
            return not (await conn.execute(q.LIVE_JOB)).first()

    async def recover_expired(self, *, max_crashes: int = MAX_CRASHES) -> int:
        async with self._write(one_statement=True) as conn:
            res = await conn.execute(q.RECOVER_EXPIRED, {"now": self.clock(), "max_crashes": max_crashes})
        if res.rowcount:
            self._notify_soon()
        return int(res.rowcount)
