"""The SQLite claim and ack, each in one trip to the connection's thread.

aiosqlite runs each statement on the connection's own thread and hands the result back through the
event loop, so the claim's six statements (``BEGIN IMMEDIATE``, best priority, key, claim, tokens,
``COMMIT``) cost six loop turns. When handlers keep the loop busy (a hundred of them validating LLM
answers), each turn takes tens of milliseconds and an urgent job waits for all six. Here the whole
transaction is one function run on that thread: the statements of ``statements``, one turn of
the loop.

It uses aiosqlite's ``_execute`` (run a callable on the connection's thread), the one hook aiosqlite
has for this; the version is pinned in ``uv.lock`` and ``tests/jobs`` exercise this path on every run.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from aimanager.jobs.backends.sql import statements as q
from aimanager.jobs.pauses import PauseSet


@cache
def _sql(kinds: bool, capped: bool, paused: bool) -> tuple[str, str, str, str]:
    return (
        q.sqlite_best_priority(kinds, capped, paused),
        q.sqlite_pick_key(kinds, paused),
        q.sqlite_claim_jobs(kinds, paused),
        q.SQLITE_SPEND_TOKENS,
    )


def _claim(
    db: sqlite3.Connection,
    params: dict[str, Any],
    limit: int,
    lease: float,
    worker_id: str,
    sqls: tuple[str, str, str, str],
) -> list[tuple[Any, ...]]:
    best_sql, pick_sql, claim_sql, spend_sql = sqls
    now = params["now"]
    floor = -1
    while True:
        best = db.execute(best_sql, {**params, "floor": floor}).fetchone()
        if best is None:
            return []
        key_row = db.execute(pick_sql, {**params, "p": best[0]}).fetchone()
        if key_row is not None:
            break
        floor = best[0]  # every key at this priority is rate-limited: try the next
    key = key_row[0]
    n = q.batch_size(limit, key_row, now)
    rows = db.execute(
        claim_sql, {**params, "p": best[0], "k": key, "n": n, "w": worker_id, "lease": lease}
    ).fetchall()
    db.execute(spend_sql, {"now": now, "k": key, "taken": len(rows)})
    return rows


def _complete(db: sqlite3.Connection, sql: str, rows: list[dict[str, Any]]) -> int:
    count: int = db.executemany(sql, rows).rowcount
    return count


def _write_transaction(db: sqlite3.Connection, work: Any, *args: Any) -> Any:
    db.execute("BEGIN IMMEDIATE")
    try:
        result = work(db, *args)
        db.execute("COMMIT")
        return result
    except BaseException:
        if db.in_transaction:  # SQLite may already have rolled back (a failed COMMIT, a full disk)
            db.execute("ROLLBACK")
        raise


async def _on_thread(conn: AsyncConnection, work: Any, *args: Any) -> Any:
    """``work(db, *args)`` in one write transaction on ``conn``'s own thread, one trip."""
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection  # aiosqlite.Connection
    return await driver._execute(_write_transaction, driver._conn, work, *args)


async def complete_rows(conn: AsyncConnection, rows: list[dict[str, Any]]) -> int:
    """Acknowledge runs (``complete_jobs`` parameters per row) in one transaction, one trip."""
    count: int = await _on_thread(conn, _complete, str(q.complete_jobs("sqlite").text), rows)
    return count


async def claim_rows(
    conn: AsyncConnection,
    worker_id: str,
    limit: int,
    *,
    now: float,
    lease_s: float,
    kinds: Sequence[str] | None,
    max_priority: int | None,
    paused: PauseSet | None = None,
) -> list[tuple[Any, ...]]:
    """Claimed rows (``statements.JOB_COLUMNS`` order), on ``conn``'s own thread in one trip."""
    params: dict[str, Any] = {"now": now}
    if kinds is not None:
        params["kinds"] = json.dumps(list(kinds))
    if max_priority is not None:
        params["maxp"] = max_priority
    if paused:
        params["pkinds"] = json.dumps(sorted(paused.kinds))
        params["pparts"] = json.dumps(sorted(paused.partners))
    sqls = _sql(kinds is not None, max_priority is not None, bool(paused))
    rows: list[tuple[Any, ...]] = await _on_thread(
        conn, _claim, params, limit, now + lease_s, worker_id, sqls
    )
    return rows
