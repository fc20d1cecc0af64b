"""The claim at many keys and across processes: idle keys are parked and cost the claim no probe, a
parked key comes back with new work, and concurrent claimers never split or double-serve a key."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from aimanager.jobs import Completion, JobSpec, JobStatus
from aimanager.jobs.backends.sql import statements as q
from tests.jobs.conftest import FakeClock, sql_backend_for
from tests.servers import create_pg_database, drop_pg_database

LEASE = 15.0


async def test_a_parked_key_comes_back_with_new_work_and_with_a_retried_job(backend: Any) -> None:
    [first] = (await backend.enqueue_many([JobSpec("k", batch_key="shop-1")])).ids
    [job] = await backend.claim("w", 10, lease_s=LEASE)
    await backend.park_idle_keys()  # a running job: the key stays active
    assert await backend.fail("w", job, "bad input")
    await backend.park_idle_keys()
    await backend.enqueue_many([JobSpec("k", batch_key="shop-1")])
    [second] = await backend.claim("w", 10, lease_s=LEASE)
    assert second.batch_key == "shop-1"
    assert await backend.complete("w", [Completion(second.id, 1, 1.0)]) == 1
    await backend.park_idle_keys()
    assert await backend.drained()
    assert await backend.retry_dead([first]) == 1  # failed → queued again on a parked key
    [again] = await backend.claim("w", 10, lease_s=LEASE)
    assert again.id == first and again.status is JobStatus.RUNNING


async def test_drained_means_nothing_queued_or_running(backend: Any) -> None:
    assert await backend.drained()
    await backend.enqueue_many([JobSpec("k")])
    assert not await backend.drained()
    [job] = await backend.claim("w", 1, lease_s=LEASE)
    assert not await backend.drained()
    await backend.complete("w", [Completion(job.id, 1, 1.0)])
    assert await backend.drained()


def _probe_loops(plan: Any, per_key: bool = False) -> int:
    """How many times the claim probed ``ix_jobs_ready_key`` for a key's best ready priority (the
    inner side of the nested loop over the keys; the scan of the chosen key's jobs is not counted)."""
    loops = 0
    if per_key and plan.get("Index Name") == "ix_jobs_ready_key":
        loops += int(plan["Actual Loops"])
    for child in plan.get("Plans", []):
        inner = plan["Node Type"] == "Nested Loop" and child.get("Parent Relationship") == "Inner"
        loops += _probe_loops(child, per_key or inner)
    return loops


async def _claim_probes(backend: Any, now: float) -> tuple[int, int]:
    """EXPLAIN ANALYZE one claim (rolled back): the key probes and the shared buffers it touched."""
    sql = str(q.claim_postgresql(False, False).text)
    names: list[str] = []

    def number(m: re.Match[str]) -> str:
        if m.group(1) not in names:
            names.append(m.group(1))
        return f"${names.index(m.group(1)) + 1}"

    params = {"now": now, "n": 10, "w": "probe", "lease": now + LEASE}
    raw_sql = re.sub(r"(?<!:):(\w+)", number, sql)
    async with backend.engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        tx = raw.transaction()
        await tx.start()
        try:
            [[doc]] = await raw.fetch(
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + raw_sql, *[params[k] for k in names]
            )
        finally:
            await tx.rollback()
    plan = (json.loads(doc) if isinstance(doc, str) else doc)[0]["Plan"]
    return _probe_loops(plan), int(plan["Shared Hit Blocks"]) + int(plan["Shared Read Blocks"])


async def test_claim_probes_do_not_grow_with_idle_keys() -> None:
    """50 partners with work; then 5,000 more whose work is done. Once parked, the idle keys cost the
    claim no probe (counted in the plan, not timed)."""
    url = await create_pg_database()
    clock = FakeClock()
    backend = await sql_backend_for(url, clock)
    try:
        await backend.enqueue_many([JobSpec("k", partner_id=p % 50) for p in range(500)])
        base_probes, base_buffers = await _claim_probes(backend, clock.now)
        assert base_probes == 50
        # 5,000 keys that had work and finished it.
        await backend.enqueue_many([JobSpec("idle", batch_key=f"idle-{i}") for i in range(5000)])
        async with backend.engine.begin() as conn:
            await conn.exec_driver_sql(
                "UPDATE jobs SET status = 'succeeded', finished_at = 1 WHERE kind = 'idle'"
            )
        unparked_probes, _ = await _claim_probes(backend, clock.now)
        assert unparked_probes == 5050  # what every claim paid before parking
        await backend.park_idle_keys()
        probes, buffers = await _claim_probes(backend, clock.now)
        assert probes == base_probes
        # What is left per idle key is one filtered row of ``job_keys`` (a sequential read of the
        # table, ~40 pages here), not an index probe (3+ pages each: 15,000).
        assert buffers < base_buffers + 200
    finally:
        await backend.close()
        await drop_pg_database(url)


async def test_concurrent_claimers_never_split_or_double_serve_a_key() -> None:
    """Four claimers on their own connections race over 40 keys of 10 jobs: every key is served by one
    claim that takes all its 10 jobs, nothing twice, and no claim comes back empty while work is left
    unless another claim overlapped it (rows it holds locked are skipped, as ``SKIP LOCKED`` must)."""
    url = await create_pg_database()
    backend = await sql_backend_for(url)
    try:
        await backend.enqueue_many([JobSpec("k", batch_key=f"key-{i % 40}") for i in range(400)])
        claims: list[list[Any]] = []
        empties_alone = 0
        in_flight = 0
        changes = 0  # claims started or ended, by anyone

        async def claimer(name: str) -> None:
            nonlocal empties_alone, in_flight, changes
            for _ in range(10_000):  # a bound against a hang, not a figure
                others, seen = in_flight, changes
                in_flight, changes = in_flight + 1, changes + 1
                got = await backend.claim(name, 10, lease_s=LEASE)
                in_flight, changes = in_flight - 1, changes + 1
                if got:
                    claims.append(got)
                    continue
                if await backend.drained() or not await _queued(backend):
                    return
                if not others and changes == seen + 2:  # alone all along, and still nothing
                    empties_alone += 1
            raise AssertionError(f"{name} kept coming back empty")

        await asyncio.gather(*(claimer(f"w{i}") for i in range(4)))
        ids = [j.id for batch in claims for j in batch]
        assert len(ids) == len(set(ids)) == 400
        assert sorted(len(b) for b in claims) == [10] * 40
        assert all(len({j.batch_key for j in b}) == 1 for b in claims)
        assert empties_alone == 0
    finally:
        await backend.close()
        await drop_pg_database(url)


async def _queued(backend: Any) -> int:
    async with backend.engine.connect() as conn:
        return int((await conn.exec_driver_sql("SELECT count(*) FROM jobs WHERE status = 'queued'")).scalar())


async def test_parking_sets_aside_only_idle_keys_and_an_enqueue_restores_their_place(
    sql_backend: Any, clock: Any
) -> None:
    await sql_backend.enqueue_many([JobSpec("k", batch_key=k) for k in ("a-done", "b-running", "c-queued")])
    for _ in range(2):
        clock.advance(1.0)
        [job] = await sql_backend.claim("w", 10, lease_s=LEASE)
        if job.batch_key == "a-done":  # keys are served in name order here
            await sql_backend.complete("w", [Completion(job.id, 1, 1.0)])
    assert await sql_backend.park_idle_keys() == 1
    assert await sql_backend.park_idle_keys() == 0  # already parked
    cursors = await _cursors(sql_backend)
    assert cursors["a-done"] >= q.PARKED > max(cursors["b-running"], cursors["c-queued"])
    await sql_backend.enqueue_many([JobSpec("k", batch_key="a-done")])
    assert (await _cursors(sql_backend))["a-done"] == cursors["a-done"] - q.PARKED


async def _cursors(backend: Any) -> dict[str, float]:
    async with backend.engine.connect() as conn:
        rows = await conn.exec_driver_sql("SELECT key, last_claim_at FROM job_keys")
        return {k: float(v) for k, v in rows}
