"""The dialect-specific SQL of the engine's hot path: the keyed, fair, rate-limited claim and the ack.

SQLite runs each claim inside ``BEGIN IMMEDIATE`` (one writer at a time, so no row locks are needed);
PostgreSQL locks the chosen key row and the claimed job rows with ``FOR UPDATE SKIP LOCKED`` so that
concurrent workers pass over each other instead of waiting.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

from sqlalchemy import TextClause, bindparam, case, text

JOB_COLUMNS = (
    "id, kind, partner_id, batch_key, payload, priority, status, enqueued_at, run_at, deadline, "
    "started_at, finished_at, attempts, max_attempts, lease_until, worker_id, unique_key, result, "
    "last_error, queue_wait_ms, run_ms, crashes"
)
COLUMN_NAMES = tuple(c.strip() for c in JOB_COLUMNS.split(","))
NOTIFY_CHANNEL = "aimanager_jobs"

# A key with no queued and no running job is *parked* (``park_idle_keys``): ``PARKED`` is added to its
# ``last_claim_at`` (real values are epoch seconds, far below it), so the claim passes over it with one
# comparison instead of an index probe, and an enqueue (or a retry of a dead job) takes it off again,
# back at its old place in the rotation. Encoded in the fairness cursor, not a new column: the claim
# already reads it, and no migration of the hot tables is needed.
PARKED = 1e12
_ACTIVE = f"k.last_claim_at < {PARKED:.0f}"


def unparked(last_claim_at: Any) -> Any:
    """``last_claim_at`` with the parking offset taken off (SQL expression)."""
    return case((last_claim_at >= PARKED, last_claim_at - PARKED), else_=last_claim_at)


# -- SQLite: the claim as four statements, run in one trip by ``sqlite_fast`` ----------------------
# Plain sqlite3 SQL (named parameters; ``:kinds`` is a JSON array). SQLite plans without statistics
# and would pick the status index over the partial ready indexes; ``INDEXED BY`` keeps every step an
# index seek however the table is shaped.

_SQLITE_KINDS = " AND j.kind IN (SELECT value FROM json_each(:kinds))"
# Paused kinds and partners (``jobs.pauses``), as JSON arrays. Only in the statement while something is
# paused: with nothing paused the claim is the statement it always was.
_SQLITE_PAUSED = (
    " AND j.kind NOT IN (SELECT value FROM json_each(:pkinds))"
    " AND (j.partner_id IS NULL OR j.partner_id NOT IN (SELECT value FROM json_each(:pparts)))"
)


def _sqlite_filters(kinds: bool, paused: bool) -> str:
    return (_SQLITE_KINDS if kinds else "") + (_SQLITE_PAUSED if paused else "")


def batch_size(limit: int, key_row: tuple[Any, ...], now: float) -> int:
    """How many jobs a claim may take from the key ``sqlite_pick_key`` chose: ``limit``, or fewer if
    the key's token bucket (refilled since ``refilled_at``) holds fewer tokens."""
    _, rate, burst, tokens, refilled_at = key_row
    if rate is None:
        return limit
    available: float = min(burst, tokens + (now - refilled_at) * rate)
    return min(limit, math.floor(available))


@cache
def sqlite_best_priority(kinds: bool, capped: bool, paused: bool = False) -> str:
    """The most urgent priority above ``:floor`` that has a ready job (optionally at most ``:maxp``)."""
    cap = " AND j.priority <= :maxp" if capped else ""
    return (
        "SELECT j.priority FROM jobs j INDEXED BY ix_jobs_ready_priority"
        " WHERE j.status = 'queued' AND j.run_at <= :now"
        f" AND j.priority > :floor{cap}{_sqlite_filters(kinds, paused)} ORDER BY j.priority LIMIT 1"
    )


@cache
def sqlite_pick_key(kinds: bool, paused: bool = False) -> str:
    """The least recently served key with a ready job at ``:p`` and a token in its bucket."""
    return (
        "SELECT k.key, k.rate, k.burst, k.tokens, k.refilled_at FROM job_keys k"
        f" WHERE {_ACTIVE}"
        " AND (k.rate IS NULL OR min(k.burst, k.tokens + (:now - k.refilled_at) * k.rate) >= 1)"
        " AND EXISTS (SELECT 1 FROM jobs j INDEXED BY ix_jobs_ready_key"
        " WHERE j.batch_key = k.key AND j.status = 'queued'"
        f" AND j.priority = :p AND j.run_at <= :now{_sqlite_filters(kinds, paused)})"
        " ORDER BY k.last_claim_at, k.key LIMIT 1"
    )


@cache
def sqlite_claim_jobs(kinds: bool, paused: bool = False) -> str:
    """Lease up to ``:n`` ready jobs of key ``:k`` at priority ``:p``, oldest id first."""
    return (
        "UPDATE jobs SET status = 'running', worker_id = :w, lease_until = :lease,"
        " attempts = attempts + 1, started_at = :now, queue_wait_ms = (:now - run_at) * 1000.0"
        " WHERE id IN (SELECT j.id FROM jobs j INDEXED BY ix_jobs_ready_key"
        " WHERE j.batch_key = :k AND j.status = 'queued'"
        f" AND j.priority = :p AND j.run_at <= :now{_sqlite_filters(kinds, paused)}"
        f" ORDER BY j.id LIMIT :n) RETURNING {JOB_COLUMNS}"
    )


# Move the key to the back of the round robin and take ``:taken`` tokens from its bucket.
SQLITE_SPEND_TOKENS = (
    "UPDATE job_keys SET last_claim_at = :now,"
    " tokens = CASE WHEN rate IS NULL THEN NULL"
    " ELSE min(burst, tokens + (:now - refilled_at) * rate) - :taken END,"
    " refilled_at = CASE WHEN rate IS NULL THEN NULL ELSE :now END"
    " WHERE key = :k"
)


# -- PostgreSQL ------------------------------------------------------------------------------------


# How many of the best keys a claim tries to lock: the claims of other processes hold or have just
# served the first few, and each one passed over costs a row lock attempt, never a probe.
CLAIM_CANDIDATES = 16


@cache
def claim_postgresql(kinds: bool, capped: bool, paused: bool = False) -> TextClause:
    """PostgreSQL's whole claim in one statement, one round trip.

    The same choice as SQLite's four steps (``sqlite_best_priority`` to ``SQLITE_SPEND_TOKENS``): among the
    active (not parked) keys with a token, the one whose best ready job has the most urgent priority,
    least recently served first; then up to ``:n`` of its ready jobs at that priority (fewer if its
    bucket holds fewer tokens). Each active key's best ready priority is one probe of
    ``ix_jobs_ready_key`` in a LATERAL subquery, so the cost grows with the keys that have work, never
    with the backlog nor with idle keys (parked: one comparison each). PostgreSQL cannot turn the
    probe into a hash join over every ready job, the plan it picks for an ``EXISTS`` when its
    statistics lag a bulk enqueue (8 ms per claim behind 30,000 jobs).

    Several processes: ``cand`` ranks the keys in this statement's snapshot, ``pick`` locks the first
    one whose row is still the version that was ranked (``last_claim_at`` unchanged). Without that
    check a claim that committed between this statement's snapshot and its lock was invisible to it:
    the lock succeeded on the freshly served key, the claim re-locked the jobs the other one had just
    taken (each a failed recheck) and often came back empty, and the worker then slept until the next
    wake-up. Two processes drained slower than one.
    """
    kind = " AND j.kind = ANY(CAST(:kinds AS text[]))" if kinds else ""
    cap = " AND j.priority <= :maxp" if capped else ""
    # Paused kinds and partners (``jobs.pauses``): only while something is paused.
    skip = (
        " AND j.kind <> ALL(CAST(:pkinds AS text[]))"
        " AND (j.partner_id IS NULL OR j.partner_id <> ALL(CAST(:pparts AS int[])))"
        if paused
        else ""
    )
    ready = f"j.status = 'queued' AND j.run_at <= :now{kind}{skip}"
    available = "LEAST(k.burst, k.tokens + (:now - k.refilled_at) * k.rate)"
    has_token = f"(k.rate IS NULL OR {available} >= 1)"
    return text(
        "WITH cand AS ("
        " SELECT k.key, k.last_claim_at AS seen, r.priority"
        # ``ORDER BY priority, id`` (the same first row) is the order of ix_jobs_ready_key alone:
        # without statistics the planner otherwise reads ix_jobs_ready_priority in priority order
        # and filters the whole backlog for each key.
        " FROM job_keys k CROSS JOIN LATERAL (SELECT j.priority FROM jobs j"
        f" WHERE j.batch_key = k.key AND {ready}{cap} ORDER BY j.priority, j.id LIMIT 1) r"
        f" WHERE {_ACTIVE} AND {has_token}"
        f" ORDER BY r.priority, k.last_claim_at, k.key LIMIT {CLAIM_CANDIDATES}),"
        # The lock sees the newest version of the row; a claim that served the key since this
        # statement's snapshot moved its ``last_claim_at``, so the recheck drops it and the next
        # candidate is tried. The bucket is read from the locked version.
        " pick AS (SELECT k.key, c.priority, CASE WHEN k.rate IS NULL THEN :n"
        f" ELSE LEAST(:n, CAST(floor({available}) AS int)) END AS n"
        " FROM cand c JOIN job_keys k ON k.key = c.key"
        f" WHERE k.last_claim_at = c.seen AND {has_token}"
        " ORDER BY c.priority, c.seen, c.key LIMIT 1 FOR UPDATE OF k SKIP LOCKED),"
        # ``priority + 0`` keeps the planner on ix_jobs_ready_key, read in its own order up to the
        # limit: without fresh statistics it may take ix_jobs_ready_priority and filter the whole
        # priority's backlog for this one key (8 ms behind 50,000 jobs instead of 0.1 ms).
        " chosen AS (SELECT j.id FROM jobs j"
        " WHERE j.batch_key = (SELECT key FROM pick) AND j.priority + 0 = (SELECT priority FROM pick)"
        f" AND {ready} ORDER BY j.priority, j.id LIMIT (SELECT n FROM pick) FOR UPDATE OF j SKIP LOCKED),"
        " claimed AS (UPDATE jobs SET status = 'running', worker_id = :w, lease_until = :lease,"
        " attempts = attempts + 1, started_at = :now, queue_wait_ms = (:now - run_at) * 1000.0"
        f" WHERE id IN (SELECT id FROM chosen) RETURNING {JOB_COLUMNS}),"
        " spent AS (UPDATE job_keys SET last_claim_at = :now,"
        " tokens = CASE WHEN rate IS NULL THEN NULL"
        " ELSE LEAST(burst, tokens + (:now - refilled_at) * rate) - (SELECT count(*) FROM claimed) END,"
        " refilled_at = CASE WHEN rate IS NULL THEN NULL ELSE :now END"
        " WHERE key = (SELECT key FROM pick))"
        f" SELECT {JOB_COLUMNS} FROM claimed"
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


# Handler attempts are ``attempts - crashes``: starts lost to a crash do not use up ``max_attempts``.
_EXHAUSTED = "attempts - crashes >= max_attempts"

RETRY_LATER = text(
    "UPDATE jobs SET last_error = :err, worker_id = NULL, lease_until = NULL,"
    f" status = CASE WHEN {_EXHAUSTED} THEN 'dead' ELSE 'queued' END,"
    f" finished_at = CASE WHEN {_EXHAUSTED} THEN CAST(:now AS DOUBLE PRECISION) ELSE NULL END,"
    f" run_at = CASE WHEN {_EXHAUSTED} THEN run_at ELSE CAST(:run_at AS DOUBLE PRECISION) END,"
    f" deadline = CASE WHEN {_EXHAUSTED} THEN deadline"
    " ELSE CAST(:run_at AS DOUBLE PRECISION) + CAST(:sla AS DOUBLE PRECISION) END,"
    " payload = COALESCE(CAST(:payload AS TEXT), payload)"
    " WHERE id = :id AND worker_id = :w AND attempts = :att AND status = 'running'"
    " RETURNING status"
)

SNOOZE = text(
    "UPDATE jobs SET status = 'queued', attempts = attempts - 1, worker_id = NULL, lease_until = NULL,"
    " run_at = :run_at, deadline = CAST(:run_at AS DOUBLE PRECISION) + CAST(:sla AS DOUBLE PRECISION),"
    " payload = COALESCE(CAST(:payload AS TEXT), payload)"
    " WHERE id = :id AND worker_id = :w AND attempts = :att AND status = 'running'"
)

FAIL = text(
    "UPDATE jobs SET status = 'failed', last_error = :err, finished_at = :now, lease_until = NULL,"
    " payload = COALESCE(CAST(:payload AS TEXT), payload)"
    " WHERE id = :id AND worker_id = :w AND attempts = :att AND status = 'running'"
)

# Is any job queued or running? (``Backend.drained``) One probe of each partial index.
LIVE_JOB = text(
    "SELECT 1 WHERE EXISTS (SELECT 1 FROM jobs WHERE status = 'queued')"
    " OR EXISTS (SELECT 1 FROM jobs WHERE status = 'running')"
)

HEARTBEAT = text(
    "UPDATE jobs SET lease_until = :lease WHERE worker_id = :w AND status = 'running' AND id IN :ids"
).bindparams(bindparam("ids", expanding=True))

RELEASE = text(
    "UPDATE jobs SET status = 'queued', attempts = attempts - 1, worker_id = NULL, lease_until = NULL,"
    " started_at = NULL WHERE worker_id = :w AND status = 'running' AND id IN :ids"
).bindparams(bindparam("ids", expanding=True))

# A lease that expired is a crash, not a handler error: ``crashes`` grows and ``attempts`` stays (it
# is the fence: the crashed worker, if it was only stalled, can no longer write this attempt's
# outcome once the job is claimed again). ``:max_crashes`` crashes end the job ``dead``.
_CRASHED_OUT = "crashes + 1 >= CAST(:max_crashes AS INTEGER)"

RECOVER_EXPIRED = text(
    "UPDATE jobs SET crashes = crashes + 1,"
    " last_error = 'lease expired (crash ' || CAST(crashes + 1 AS TEXT) || '): worker '"
    " || coalesce(worker_id, '?')"
    " || ' stopped heartbeating',"
    f" status = CASE WHEN {_CRASHED_OUT} THEN 'dead' ELSE 'queued' END,"
    f" finished_at = CASE WHEN {_CRASHED_OUT} THEN CAST(:now AS DOUBLE PRECISION) ELSE NULL END,"
    " run_at = :now, worker_id = NULL, lease_until = NULL"
    " WHERE status = 'running' AND lease_until < :now"
)


@cache
def prune_keys(dialect: str) -> TextClause:
    """Delete the keys no job uses and no rate limit configures (PostgreSQL: skipping locked rows)."""
    lock = " FOR UPDATE OF k SKIP LOCKED" if dialect == "postgresql" else ""
    return text(
        "DELETE FROM job_keys WHERE key IN (SELECT k.key FROM job_keys k WHERE k.rate IS NULL"
        f" AND k.key NOT IN (SELECT DISTINCT batch_key FROM jobs){lock})"
    )


# -- parking idle keys -----------------------------------------------------------------------------


@cache
def park_idle_keys(dialect: str) -> TextClause:
    """Park the active keys that have no queued and no running job (see ``PARKED``).

    Safe against the writes that give a key work again: a running job can only come back to
    ``queued`` on a key that is not idle, and every other way in (enqueue, ``retry_dead``) writes the
    key row in its own transaction. SQLite runs one writer at a time. On PostgreSQL this statement's
    snapshot may miss such a write that committed before the row is locked, so a key is parked only if
    its row is still the version that was judged idle (same ``xmin``), and keys locked by a write in
    flight are skipped: they are looked at again next time.
    """
    parked = f"last_claim_at = last_claim_at + {PARKED:.0f}"
    if dialect == "postgresql":
        return text(
            "WITH running AS (SELECT DISTINCT batch_key FROM jobs WHERE status = 'running'),"
            " idle AS (SELECT k.key, k.xmin AS seen FROM job_keys k"
            f" WHERE {_ACTIVE}"
            " AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.batch_key = k.key AND j.status = 'queued')"
            " AND NOT EXISTS (SELECT 1 FROM running r WHERE r.batch_key = k.key)),"
            " locked AS (SELECT k.key FROM idle i JOIN job_keys k ON k.key = i.key"
            " WHERE k.xmin = i.seen FOR UPDATE OF k SKIP LOCKED)"
            f" UPDATE job_keys SET {parked} WHERE key IN (SELECT key FROM locked)"
        )
    return text(
        f"UPDATE job_keys AS k SET {parked} WHERE {_ACTIVE}"
        " AND NOT EXISTS (SELECT 1 FROM jobs j INDEXED BY ix_jobs_ready_key"
        " WHERE j.batch_key = k.key AND j.status = 'queued')"
        " AND k.key NOT IN (SELECT batch_key FROM jobs WHERE status = 'running')"
    )


# Take the keys of jobs given back to the queue off the parked list (``retry_dead``). On PostgreSQL
# every such key row is written, parked or not: a concurrent ``park_idle_keys`` then sees a new
# version and leaves the key alone.
UNPARK_KEYS_OF_JOBS = text(
    f"UPDATE job_keys SET last_claim_at = CASE WHEN last_claim_at >= {PARKED:.0f}"
    f" THEN last_claim_at - {PARKED:.0f} ELSE last_claim_at END"
    " WHERE key IN (SELECT batch_key FROM jobs WHERE id IN :ids)"
).bindparams(bindparam("ids", expanding=True))
