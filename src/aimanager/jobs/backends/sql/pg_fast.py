"""PostgreSQL's claim and ack on the asyncpg connection itself, and claimed rows turned into ``Job``s.

The claim and the ack are each one statement (``statements.claim_postgresql``, ``complete_jobs``),
run without a transaction of their own. Through SQLAlchemy each call also paid for compiling the
parameters, wrapping every row in a ``Row`` and building a mapping per job before ``Job.from_row``
read it back by name: about a third of the worker's own CPU per no-op job. Here the same SQL runs
as an asyncpg prepared statement (asyncpg caches it per connection) with positional ``$n``
parameters, and each returned record becomes a ``Job`` by position.

The connection still comes from the engine's pool (``SQLBackend._write``): checkout priority, the
dead-connection check and the session settings (``plan_cache_mode``, timeouts) are the pool's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import TextClause
from sqlalchemy.ext.asyncio import AsyncConnection

from aimanager.jobs.backends.sql import statements as q
from aimanager.jobs.model import Job, JobStatus
from aimanager.jobs.priority import Priority

_PRIORITIES = {int(p): p for p in Priority}
_STATUSES = {s.value: s for s in JobStatus}
_NAME = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def numbered(clause: TextClause) -> tuple[str, tuple[str, ...]]:
    """``clause``'s SQL with ``:name`` parameters as ``$1 …``, and the names in ``$n`` order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _NAME.sub(number, str(clause.text)), tuple(names)


@cache
def claim_sql(kinds: bool, capped: bool, paused: bool) -> tuple[str, tuple[str, ...]]:
    return numbered(q.claim_postgresql(kinds, capped, paused))


@cache
def complete_sql() -> tuple[str, tuple[str, ...]]:
    return numbered(q.complete_jobs("postgresql"))


async def _driver(conn: AsyncConnection) -> Any:
    raw = await conn.get_raw_connection()
    return raw.driver_connection  # asyncpg.Connection


async def claim_jobs(
    conn: AsyncConnection, kinds: bool, capped: bool, paused: bool, params: dict[str, Any]
) -> list[Job]:
    """Run the claim on ``conn`` (autocommit: the statement is its own transaction)."""
    sql, names = claim_sql(kinds, capped, paused)
    records = await (await _driver(conn)).fetch(sql, *[params[n] for n in names])
    return [job_from_values(r) for r in records]


async def complete(conn: AsyncConnection, params: dict[str, Any]) -> int:
    """Run the bulk ack on ``conn``; returns how many rows it updated (fenced ones are not)."""
    sql, names = complete_sql()
    status: str = await (await _driver(conn)).execute(sql, *[params[n] for n in names])
    return int(status.rsplit(" ", 1)[-1])  # "UPDATE <count>"


def job_from_values(v: Sequence[Any]) -> Job:
    """A ``Job`` from a row in ``statements.JOB_COLUMNS`` order: no mapping, no lookup by name."""
    payload, result = v[4], v[17]
    return Job(
        v[0],
        v[1],
        v[2],
        v[3],
        json.loads(payload) if isinstance(payload, str) else dict(payload or {}),
        _PRIORITIES[v[5]],
        _STATUSES[v[6]],
        v[7],
        v[8],
        v[9],
        v[12],
        v[13],
        v[10],
        v[11],
        v[14],
        v[15],
        v[16],
        json.loads(result) if isinstance(result, str) else result,
        v[18],
        v[19],
        v[20],
        int(v[21] or 0),
    )
