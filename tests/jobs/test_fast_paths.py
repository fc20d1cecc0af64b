"""The claim's fast paths: claimed rows read by position, ``$n`` SQL for asyncpg, automatic prefetch."""

from __future__ import annotations

import re

from aimanager.jobs import Job, Registry, WorkerConfig
from aimanager.jobs.backends.sql import pg_fast
from aimanager.jobs.backends.sql import statements as q
from aimanager.jobs.worker.slots import SHORT_RUN_MS, Slots

ROW = {
    "id": 7,
    "kind": "noop",
    "partner_id": 3,
    "batch_key": "partner:3",
    "payload": '{"a":1}',
    "priority": 2,
    "status": "running",
    "enqueued_at": 1.0,
    "run_at": 2.0,
    "deadline": 3.0,
    "started_at": 4.0,
    "finished_at": None,
    "attempts": 2,
    "max_attempts": 5,
    "lease_until": 14.0,
    "worker_id": "w",
    "unique_key": "u",
    "result": '{"r":2}',
    "last_error": "boom",
    "queue_wait_ms": 2000.0,
    "run_ms": None,
    "crashes": 1,
}


def test_positional_rows_build_the_same_job_as_named_ones() -> None:
    values = tuple(ROW[c] for c in q.COLUMN_NAMES)
    assert pg_fast.job_from_values(values) == Job.from_row(dict(ROW))
    assert pg_fast.job_from_values((*values[:-1], None)).crashes == 0  # a row from before the column


def test_numbered_sql_keeps_every_parameter_once_and_in_order() -> None:
    for flags in [(False, False, False), (True, True, True)]:
        sql, names = pg_fast.claim_sql(*flags)
        assert not re.search(r"(?<![:\w]):[A-Za-z_]", sql)  # no named parameter left
        assert sorted({int(n) for n in re.findall(r"\$(\d+)", sql)}) == list(range(1, len(names) + 1))
        assert len(set(names)) == len(names)
        assert {"now", "n", "w", "lease"} <= set(names)
        assert ("kinds" in names) is flags[0] and ("pparts" in names) is flags[2]
    sql, names = pg_fast.complete_sql()
    assert sorted(names) == ["atts", "ids", "ms", "now", "results", "w"]
    assert "$6" in sql and ":" not in sql.replace("::", "")


def test_automatic_prefetch_grows_to_a_batch_while_runs_are_short() -> None:
    slots = Slots(WorkerConfig(concurrency=100, claim_batch=100), Registry())
    assert (slots.prefetch, slots.capacity) == (25, 125)
    for _ in range(5):
        slots.note_run(0.1)
    assert (slots.prefetch, slots.capacity) == (100, 200)
    for _ in range(100):  # runs got long: back to a quarter of the slots
        slots.note_run(SHORT_RUN_MS * 20)
    assert (slots.prefetch, slots.capacity) == (25, 125)


def test_an_explicit_prefetch_is_kept_whatever_the_run_times() -> None:
    slots = Slots(WorkerConfig(concurrency=100, claim_batch=100, prefetch=10), Registry())
    for _ in range(5):
        slots.note_run(0.1)
    assert (slots.prefetch, slots.capacity) == (10, 110)
