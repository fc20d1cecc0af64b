"""The dialect-specific SQL of the engine's hot path: the keyed, fair, rate-limited claim and the ack.

SQLite runs each claim inside ``BEGIN IMMEDIATE`` (one writer at a time, so no row locks are needed);
PostgreSQL locks the chosen key row and the claimed job rows with ``FOR UPDATE SKIP LOCKED`` so that
concurrent workers pass over each other instead of waiting.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

from sqlalchemy import TextClause, bindparam, text

JOB_COLUMNS = (
    "id, kind, partner_id, batch_key, payload, priority, status, enqueued_at, run_at, deadline, "
    "started_at, finished_at, attempts, max_attempts, lease_until, worker_id, unique_key, result, "
    "last_error, queue_wait_ms, run_ms"
)
COLUMN_NAMES = tuple(c.strip() for c in JOB_COLUMNS.split(","))
NOTIFY_CHANNEL = "aimanager_jobs"


def _filters(alias: str, kinds: bool) -> str:
    return f" AND {alias}.kind IN :kinds" if kinds else ""


def _indexed(dialect: str, index: str) -> str:
    # SQLite plans without statistics and picks the status index over the partial ready indexes;
    # naming the index keeps every claim an index seek however the table is shaped.
    return f" INDEXED BY {index}" if dialect == "sqlite" else ""


def _expand(stmt: TextClause, kinds: bool) -> TextClause:
    return stmt.bindparams(bindparam("kinds", expanding=True)) if kinds else stmt


def batch_size(limit: int, key_row: tuple[Any, ...], now: float) -> int:
    """How many jobs a claim may take from the key ``pick_key`` chose: ``limit``, or fewer if the
    key's token bucket (refilled since ``refilled_at``) holds fewer tokens."""
    _, rate, burst, tokens, refilled_at = key_row
    if rate is None:
        return limit
    available: float = min(burst, tokens + (now - refilled_at) * rate)
    return min(limit, math.floor(available))


@cache
def best_priority(dialect: str, kinds: bool, capped: bool) -> TextClause:
    """The most urgent priority above ``:floor`` that has a ready job (optionally at most ``:maxp``)."""
    cap = " AND j.priority <= :maxp" if capped else ""
    sql = (
        f"SELECT j.priority FROM jobs j{_indexed(dialect, 'ix_jobs_ready_priority')}"
        " WHERE j.status = 'queued' AND j.run_at <= :now"
        f" AND j.priority > :floor{cap}{_filters('j', kinds)} ORDER BY j.priority LIMIT 1"
    )
    return _expand(text(sql), kinds)


@cache
def pick_key(dialect: str, kinds: bool) -> TextClause:
    """The least recently served key with a ready job at ``:p`` and a token in its bucket."""
    least = "min" if dialect == "sqlite" else "LEAST"
    lock = "" if dialect == "sqlite" else " FOR UPDATE OF k SKIP LOCKED"
    sql = (
        "SELECT k.key, k.rate, k.burst, k.tokens, k.refilled_at FROM job_keys k"
        " WHERE (k.rate IS NULL OR"
        f" {least}(k.burst, k.tokens + (:now - k.refilled_at) * k.rate) >= 1)"
        f" AND EXISTS (SELECT 1 FROM jobs j{_indexed(dialect, 'ix_jobs_ready_key')}"
        " WHERE j.batch_key = k.key AND j.status = 'queued'"
        f" AND j.priority = :p AND j.run_at <= :now{_filters('j', kinds)})"
        f" ORDER BY k.last_claim_at, k.key LIMIT 1{lock}"
    )
    return _expand(text(sql), kinds)


@cache
def claim_jobs(dialect: str, kinds: bool) -> TextClause:
    """Lease up to ``:n`` ready jobs of key ``:k`` at priority ``:p``, oldest id first."""
    lock = "" if dialect == "sqlite" else " FOR UPDATE SKIP LOCKED"
    sql = (
        "UPDATE jobs SET status = 'running', worker_id = :w, lease_until = :lease,"
        " attempts = attempts + 1, started_at = :now, queue_wait_ms = (:now - run_at) * 1000.0"
        f" WHERE id IN (SELECT j.id FROM jobs j{_indexed(dialect, 'ix_jobs_ready_key')}"
        " WHERE j.batch_key = :k AND j.status = 'queued'"
        f" AND j.priority = :p AND j.run_at <= :now{_filters('j', kinds)}"
        f" ORDER BY j.id LIMIT :n{lock})"
        f" RETURNING {JOB_COLUMNS}"
    )
    return _expand(text(sql), kinds)


@cache
def spend_tokens(dialect: str) -> TextClause:
    """Move the key to the back of the round robin and take ``:taken`` tokens from its bucket."""
    least = "min" if dialect == "sqlite" else "LEAST"
    return text(
        "UPDATE job_keys SET last_claim_at = :now,"
        " tokens = CASE WHEN rate IS NULL THEN NULL"
        f" ELSE {least}(burst, tokens + (:now - refilled_at) * rate) - :taken END,"
        " refilled_at = CASE WHEN rate IS NULL THEN NULL ELSE :now END"
        " WHERE key = :k"
    )


@cache
def complete_jobs(dialect: str) -> TextClause:
    """Acknowledge successful runs, fenced by worker and attempt."""
    if dialect == "postgresql":
        # One statement for the whole batch: arrays unnested into a join.
        return text(
            "UPDATE jobs SET status = 'succeeded', finished_at = :now, lease_until = NULL,"
            " run_ms = v.run_ms, result = v.result"
            " FROM (SELECT unnest(CAST(:ids AS bigint[])) AS id, unnest(CAST(:atts AS int[])) AS att,"
            " unnest(CAST(:ms AS float8[])) AS run_ms, unnest(CAST(:results AS text[])) AS result) v"
            " WHERE jobs.id = v.id AND jobs.attempts = v.att AND jobs.worker_id = :w"
            " AND jobs.status = 'running'"
        )
    return text(
        "UPDATE jobs SET status = 'succeeded', finished_at = :now, lease_until = NULL,"
        " run_ms = :run_ms, result = :result"
        " WHERE id = :id AND attempts = :att AND worker_id = :w AND status = 'running'"
    )


RETRY_LATER = text(
    "UPDATE jobs SET last_error = :err, worker_id = NULL, lease_until = NULL,"
    " status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END,"
    " finished_at = CASE WHEN attempts >= max_attempts THEN CAST(:now AS DOUBLE PRECISION) ELSE NULL END,"
    " run_at = CASE WHEN attempts >= max_attempts THEN run_at ELSE CAST(:run_at AS DOUBLE PRECISION) END,"
    " deadline = CASE WHEN attempts >= max_attempts THEN deadline"
    " ELSE CAST(:run_at AS DOUBLE PRECISION) + CAST(:sla AS DOUBLE PRECISION) END"
    " WHERE id = :id AND worker_id = :w AND attempts = :att AND status = 'running'"
    " RETURNING status"
)

FAIL = text(
    "UPDATE jobs SET status = 'failed', last_error = :err, finished_at = :now, lease_until = NULL"
    " WHERE id = :id AND worker_id = :w AND attempts = :att AND status = 'running'"
)

HEARTBEAT = text(
    "UPDATE jobs SET lease_until = :lease WHERE worker_id = :w AND status = 'running' AND id IN :ids"
).bindparams(bindparam("ids", expanding=True))

RELEASE = text(
    "UPDATE jobs SET status = 'queued', attempts = attempts - 1, worker_id = NULL, lease_until = NULL,"
    " started_at = NULL WHERE worker_id = :w AND status = 'running' AND id IN :ids"
).bindparams(bindparam("ids", expanding=True))

RECOVER_EXPIRED = text(
    "UPDATE jobs SET"
    " last_error = 'lease expired: worker ' || coalesce(worker_id, '?') || ' stopped heartbeating',"
    " status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END,"
    " finished_at = CASE WHEN attempts >= max_attempts THEN CAST(:now AS DOUBLE PRECISION) ELSE NULL END,"
    " run_at = :now, worker_id = NULL, lease_until = NULL"
    " WHERE status = 'running' AND lease_until < :now"
)
