"""One contract suite for every Backend: memory, SQLite and PostgreSQL behave the same."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from sqlalchemy import text

from aimanager.jobs import Completion, InvalidPayload, JobSpec, JobStatus, Priority
from aimanager.jobs.model import JOB_BACKOFF

LEASE = 15.0


def spec(kind: str = "k", partner: int | None = 1, **kw: Any) -> JobSpec:
    return JobSpec(kind=kind, partner_id=partner, payload=kw.pop("payload", {}), **kw)


async def test_enqueue_claim_complete_roundtrip(backend: Any, clock: Any) -> None:
    res = await backend.enqueue_many([spec(payload={"sku": "A-1", "n": 2})])
    assert len(res.ids) == 1 and res.skipped_unique_keys == []
    clock.advance(0.25)
    [job] = await backend.claim("w1", 10, lease_s=LEASE)
    assert job.payload == {"sku": "A-1", "n": 2}
    assert job.status is JobStatus.RUNNING and job.attempts == 1 and job.worker_id == "w1"
    assert job.queue_wait_ms == pytest.approx(250.0)
    # Differences, not epoch values: approx's relative tolerance on 1.8e9 s would be half an hour.
    assert job.deadline - job.enqueued_at == pytest.approx(Priority.MEDIUM.start_sla_seconds)
    assert await backend.complete("w1", [Completion(job.id, 1, 12.5, {"ok": True})]) == 1
    done = await backend.get(job.id)
    assert done.status is JobStatus.SUCCEEDED and done.result == {"ok": True} and done.run_ms == 12.5
    assert done.started_dt.tzinfo is not None
    assert await backend.claim("w1", 10, lease_s=LEASE) == []


async def test_bulk_enqueue_skips_and_reports_duplicate_unique_keys(backend: Any) -> None:
    first = await backend.enqueue_many([spec(unique_key=f"u{i}") for i in range(5)])
    assert len(first.ids) == 5
    again = await backend.enqueue_many(
        [spec(unique_key="u1"), spec(unique_key="new"), spec(unique_key="new"), spec()]
    )
    assert len(again.ids) == 2
    assert sorted(again.skipped_unique_keys) == ["new", "u1"]
    claimed: list[Any] = []
    while batch := await backend.claim("w", 100, lease_s=LEASE):
        claimed += batch
    assert len(claimed) == 7
    assert sorted(j.unique_key for j in claimed if j.unique_key) == ["new", "u0", "u1", "u2", "u3", "u4"]


async def test_invalid_payload_inserts_nothing(backend: Any) -> None:
    with pytest.raises(InvalidPayload):
        await backend.enqueue_many([spec(), JobSpec(kind="k", payload={"x": {1, 2}})])
    assert await backend.claim("w", 10, lease_s=LEASE) == []


async def test_urgent_behind_ten_thousand_low_is_claimed_next(backend: Any, clock: Any) -> None:
    await backend.enqueue_many([spec(partner=p % 20, priority=Priority.LOW) for p in range(10_000)])
    clock.advance(1)
    [urgent_id] = (await backend.enqueue_many([spec(partner=99, priority=Priority.URGENT)])).ids
    batch = await backend.claim("w", 50, lease_s=LEASE)
    assert [j.id for j in batch] == [urgent_id]


async def test_claims_are_strict_by_priority(backend: Any) -> None:
    await backend.enqueue_many(
        [spec(priority=Priority.LOW), spec(priority=Priority.MEDIUM), spec(priority=Priority.HIGH)]
    )
    order = []
    while batch := await backend.claim("w", 10, lease_s=LEASE):
        order += [j.priority for j in batch]
    assert order == [Priority.HIGH, Priority.MEDIUM, Priority.LOW]


async def test_small_partner_is_not_stuck_behind_a_huge_one(backend: Any) -> None:
    await backend.enqueue_many([spec(partner=1) for _ in range(50_000)])
    await backend.enqueue_many([spec(partner=2) for _ in range(5)])
    seen_partners = []
    for _ in range(2):
        batch = await backend.claim("w", 20, lease_s=LEASE)
        assert len({j.batch_key for j in batch}) == 1
        seen_partners.append(batch[0].partner_id)
    assert sorted(seen_partners) == [1, 2]


async def test_round_robin_over_keys(backend: Any, clock: Any) -> None:
    for p in range(3):
        await backend.enqueue_many([spec(partner=p) for _ in range(30)])
    served = []
    for _ in range(6):  # the rotation orders keys by the time they were last served
        clock.advance(0.001)
        served.append((await backend.claim("w", 10, lease_s=LEASE))[0].partner_id)
    assert sorted(served[:3]) == [0, 1, 2] and sorted(served[3:]) == [0, 1, 2]


async def test_batch_claim_hands_out_jobs_of_one_key(backend: Any) -> None:
    await backend.enqueue_many([spec(kind="card", batch_key="p1:wb:cards") for _ in range(30)])
    await backend.enqueue_many([spec(kind="card", batch_key="p2:wb:cards") for _ in range(3)])
    batch = await backend.claim("w", 25, lease_s=LEASE)
    assert len(batch) == 25 and {j.batch_key for j in batch} == {"p1:wb:cards"}
    batch = await backend.claim("w", 25, lease_s=LEASE)
    assert len(batch) == 3 and {j.batch_key for j in batch} == {"p2:wb:cards"}


async def test_rate_limited_key_respects_its_bucket(backend: Any, clock: Any) -> None:
    await backend.set_rate_limit("a-slow", 2.0, burst=3.0)
    await backend.enqueue_many([spec(batch_key="a-slow") for _ in range(20)])
    await backend.enqueue_many([spec(batch_key="b-fast", partner=2) for _ in range(4)])
    got = await backend.claim("w", 10, lease_s=LEASE)
    assert len(got) == 3 and got[0].batch_key == "a-slow"
    # The bucket is empty: the other key at the same priority is served instead of waiting.
    got = await backend.claim("w", 10, lease_s=LEASE)
    assert {j.batch_key for j in got} == {"b-fast"}
    assert await backend.claim("w", 10, lease_s=LEASE) == []
    clock.advance(1.0)
    got = await backend.claim("w", 10, lease_s=LEASE)
    assert len(got) == 2 and got[0].batch_key == "a-slow"
    clock.advance(100.0)  # refill is capped at the burst
    assert len(await backend.claim("w", 10, lease_s=LEASE)) == 3


async def test_lease_expiry_requeues_and_fences_the_old_worker(backend: Any, clock: Any) -> None:
    [job_id] = (await backend.enqueue_many([spec()])).ids
    [job] = await backend.claim("dead-worker", 1, lease_s=LEASE)
    clock.advance(LEASE - 1)
    assert await backend.recover_expired() == 0
    clock.advance(2)
    assert await backend.recover_expired() == 1
    again = await backend.get(job_id)
    assert again.status is JobStatus.QUEUED and "lease expired" in again.last_error
    [job2] = await backend.claim("w2", 1, lease_s=LEASE)
    assert job2.attempts == 2
    # The first worker comes back from a pause: its ack must not end the second attempt.
    assert await backend.complete("dead-worker", [Completion(job.id, 1, 1.0)]) == 0
    assert (await backend.get(job_id)).status is JobStatus.RUNNING
    assert await backend.complete("w2", [Completion(job2.id, 2, 1.0)]) == 1


async def test_heartbeat_keeps_the_lease(backend: Any, clock: Any) -> None:
    await backend.enqueue_many([spec(), spec()])
    jobs = await backend.claim("w", 2, lease_s=LEASE)
    for _ in range(4):
        clock.advance(10)
        assert await backend.heartbeat("w", [j.id for j in jobs], LEASE) == 2
        assert await backend.recover_expired() == 0
    assert await backend.heartbeat("other", [j.id for j in jobs], LEASE) == 0


async def test_retry_backoff_then_dead_with_error_kept(backend: Any, clock: Any) -> None:
    [job_id] = (await backend.enqueue_many([spec()])).ids
    rng = random.Random(7)  # the backends were built with Random(7): same jitter sequence
    for attempt in (1, 2):
        [job] = await backend.claim("w", 1, lease_s=LEASE)
        assert job.attempts == attempt
        status = await backend.retry_later("w", job, f"boom {attempt}")
        assert status is JobStatus.QUEUED
        expected = JOB_BACKOFF.delay(attempt, rng)
        stored = await backend.get(job_id)
        assert stored.run_at - clock.now == pytest.approx(expected)
        clock.advance(expected - 0.01)
        assert await backend.claim("w", 1, lease_s=LEASE) == []
        clock.advance(0.02)
    [job] = await backend.claim("w", 1, lease_s=LEASE)
    assert await backend.retry_later("w", job, "boom 3") is JobStatus.DEAD
    dead = await backend.get(job_id)
    assert dead.status is JobStatus.DEAD and dead.last_error == "boom 3" and dead.attempts == 3


async def test_handler_requested_delay_is_honoured(backend: Any, clock: Any) -> None:
    [job_id] = (await backend.enqueue_many([spec()])).ids
    [job] = await backend.claim("w", 1, lease_s=LEASE)
    await backend.retry_later("w", job, "429", delay=42.0)
    stored = await backend.get(job_id)
    assert stored.run_at - clock.now == pytest.approx(42.0)
    # The start SLA counts from when the job may run again, not from its first enqueue.
    assert stored.deadline - clock.now == pytest.approx(42.0 + Priority.MEDIUM.start_sla_seconds)


async def test_snooze_waits_without_using_an_attempt(backend: Any, clock: Any) -> None:
    [job_id] = (await backend.enqueue_many([spec(max_attempts=2)])).ids
    [job] = await backend.claim("w", 1, lease_s=LEASE)
    await backend.retry_later("w", job, "boom")  # one real failure: its error is kept
    clock.advance(60)
    for _ in range(5):  # more snoozes than max_attempts: none of them counts
        [job] = await backend.claim("w", 1, lease_s=LEASE)
        assert job.attempts == 2
        assert await backend.snooze("w", job, 30.0)
        stored = await backend.get(job_id)
        assert stored.status is JobStatus.QUEUED and stored.attempts == 1 and stored.last_error == "boom"
        assert stored.run_at - clock.now == pytest.approx(30.0)
        assert stored.deadline - clock.now == pytest.approx(30.0 + Priority.MEDIUM.start_sla_seconds)
        clock.advance(29.9)
        assert await backend.claim("w", 1, lease_s=LEASE) == []
        clock.advance(0.2)
    [job] = await backend.claim("w", 1, lease_s=LEASE)
    assert not await backend.snooze("other-worker", job, 1.0)  # fenced like every other outcome
    assert await backend.retry_later("w", job, "boom again") is JobStatus.DEAD


async def test_snooze_can_replace_the_payload(backend: Any, clock: Any) -> None:
    [job_id] = (await backend.enqueue_many([spec(payload={"waiting": [1, 2, 3]})])).ids
    [job] = await backend.claim("w", 1, lease_s=LEASE)
    assert await backend.snooze("w", job, 5.0, {"waiting": [3], "done": {"pricing": 8}})
    clock.advance(5.1)
    [job] = await backend.claim("w", 1, lease_s=LEASE)
    assert job.payload == {"waiting": [3], "done": {"pricing": 8}}
    assert await backend.snooze("w", job, 5.0)  # no payload given: kept as it is
    assert (await backend.get(job_id)).payload == {"waiting": [3], "done": {"pricing": 8}}


async def test_a_failure_can_narrow_the_payload_to_what_is_left(backend: Any, clock: Any) -> None:
    [job_id] = (await backend.enqueue_many([spec(payload={"product_ids": [1, 2, 3, 4]}, max_attempts=2)])).ids
    [job] = await backend.claim("w", 1, lease_s=LEASE)
    assert await backend.retry_later("w", job, "2 of 4 failed", delay=1.0, payload={"product_ids": [2, 4]})
    assert (await backend.get(job_id)).payload == {"product_ids": [2, 4]}
    clock.advance(1.1)
    [job] = await backend.claim("w", 1, lease_s=LEASE)
    assert job.payload == {"product_ids": [2, 4]}
    assert await backend.retry_later("w", job, "4 failed", payload={"product_ids": [4]}) is JobStatus.DEAD
    dead = await backend.get(job_id)
    assert (dead.status, dead.payload, dead.last_error) == (JobStatus.DEAD, {"product_ids": [4]}, "4 failed")
    [other] = (await backend.enqueue_many([spec(payload={"product_ids": [7, 8]})])).ids
    [job] = await backend.claim("w", 1, lease_s=LEASE)
    assert await backend.fail("w", job, "8 needs input", {"product_ids": [8]})
    assert (await backend.get(other)).payload == {"product_ids": [8]}


async def test_fail_cancel_retry_dead(backend: Any) -> None:
    ids = (await backend.enqueue_many([spec(), spec(), spec()])).ids
    [job] = await backend.claim("w", 1, lease_s=LEASE)
    assert await backend.fail("w", job, "bad input")
    assert await backend.cancel(ids) == 2  # the two still queued
    assert (await backend.get(ids[1])).status is JobStatus.CANCELLED
    assert await backend.retry_dead(ids) == 3
    assert {(await backend.get(i)).status for i in ids} == {JobStatus.QUEUED}
    assert (await backend.get(job.id)).attempts == 0


async def test_busy_partners_are_those_with_queued_or_running_jobs_of_the_kinds(backend: Any) -> None:
    await backend.enqueue_many([spec("cards", partner=1), spec("cards", partner=2), spec("price", 3)])
    assert await backend.busy_partners(["cards"]) == {1, 2}
    [first] = await backend.claim("w", 1, lease_s=LEASE, kinds=["cards"])
    assert await backend.busy_partners(["cards"]) == {1, 2}  # running still counts
    await backend.complete("w", [Completion(first.id, 1, 1.0, None)])
    assert await backend.busy_partners(["cards"]) == {1, 2} - {first.partner_id}
    [second] = await backend.claim("w", 1, lease_s=LEASE, kinds=["cards"])
    assert await backend.fail("w", second, "no")
    assert await backend.busy_partners(["cards"]) == set()
    assert await backend.busy_partners(["cards", "price"]) == {3}


async def test_release_does_not_count_the_attempt(backend: Any) -> None:
    await backend.enqueue_many([spec()])
    [job] = await backend.claim("w", 1, lease_s=LEASE)
    assert await backend.release("w", [job.id]) == 1
    [again] = await backend.claim("w", 1, lease_s=LEASE)
    assert again.attempts == 1


async def test_prune_removes_only_old_finished_jobs(backend: Any, clock: Any) -> None:
    ids = (await backend.enqueue_many([spec(), spec(), spec()])).ids
    batch = await backend.claim("w", 2, lease_s=LEASE)
    await backend.complete("w", [Completion(j.id, 1, 1.0) for j in batch])
    clock.advance(3600)
    assert await backend.prune(older_than_s=7200) == 0
    clock.advance(7200)
    assert await backend.prune(older_than_s=7200) == 2
    assert await backend.get(ids[2]) is not None


async def batch_keys(backend: Any) -> set[str]:
    """The keys the backend keeps a fairness cursor (and maybe a bucket) for."""
    if hasattr(backend, "engine"):
        async with backend.engine.connect() as conn:
            return {k for (k,) in (await conn.execute(text("SELECT key FROM job_keys"))).all()}
    return set(backend._keys)


async def test_prune_drops_keys_no_job_uses_and_a_pruned_key_comes_back(backend: Any, clock: Any) -> None:
    await backend.set_rate_limit("limited", 5.0)
    await backend.enqueue_many([spec(batch_key="done"), spec(batch_key="waiting"), spec(batch_key="limited")])
    [job] = await backend.claim("w", 1, lease_s=LEASE, kinds=None)
    assert job.batch_key == "done"  # enqueued first, least recently served
    await backend.complete("w", [Completion(job.id, 1, 1.0)])
    clock.advance(7200)
    assert await backend.prune(older_than_s=3600) == 1
    assert await batch_keys(backend) == {"waiting", "limited"}  # in use, or rate-limited
    await backend.enqueue_many([spec(batch_key="done")])
    claimed = {j.batch_key for j in await backend.claim("w", 1, lease_s=LEASE)}
    claimed |= {j.batch_key for j in await backend.claim("w", 1, lease_s=LEASE)}
    claimed |= {j.batch_key for j in await backend.claim("w", 1, lease_s=LEASE)}
    assert claimed == {"done", "waiting", "limited"}


async def test_kinds_filter_and_priority_cap(backend: Any) -> None:
    await backend.enqueue_many(
        [spec(kind="a", priority=Priority.LOW), spec(kind="b", priority=Priority.HIGH)]
    )
    assert await backend.claim("w", 10, lease_s=LEASE, kinds=["c"]) == []
    assert await backend.claim("w", 10, lease_s=LEASE, max_priority=Priority.URGENT) == []
    [b] = await backend.claim("w", 10, lease_s=LEASE, max_priority=Priority.HIGH)
    assert b.kind == "b"
    [a] = await backend.claim("w", 10, lease_s=LEASE, kinds=["a"])
    assert a.kind == "a"


async def test_stats_depths_wait_and_sla_breaches(backend: Any, clock: Any) -> None:
    await backend.enqueue_many(
        [spec(kind="card", priority=Priority.URGENT), spec(kind="card", priority=Priority.LOW)]
        + [spec(kind="price", priority=Priority.MEDIUM) for _ in range(3)]
    )
    clock.advance(2.0)  # past the urgent job's 1 s SLA
    stats = await backend.stats()
    assert stats.queued_by_priority == {"urgent": 1, "high": 0, "medium": 3, "low": 1}
    assert stats.by_kind["price"] == {"queued": 3}
    assert stats.oldest_ready_wait_s == pytest.approx(2.0)
    assert stats.sla_breaches["urgent"] == 1 and stats.sla_breaches["medium"] == 0
    [urgent] = await backend.claim("w", 1, lease_s=LEASE)
    await backend.complete("w", [Completion(urgent.id, 1, 1.0)])
    stats = await backend.stats()
    assert stats.sla_breaches["urgent"] == 1  # started late, and stays counted
    assert stats.by_status["succeeded"] == 1 and stats.throughput_per_s == pytest.approx(1 / 60)


async def test_enqueue_joins_the_callers_transaction(sql_backend: Any) -> None:
    from sqlalchemy import text

    backend = sql_backend
    with pytest.raises(RuntimeError):
        async with backend.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO partners (slug, name, is_active, ai_budget_warn_ratio, created_at, settings)"
                    " VALUES ('p', 'P', true, 0.8, '2026-01-01 00:00:00', '{}')"
                )
            )
            await backend.enqueue_many([spec(unique_key="tx-1")], conn=conn)
            raise RuntimeError("the caller's work failed")
    assert await backend.claim("w", 10, lease_s=LEASE) == []  # rolled back with the caller
    async with backend.engine.begin() as conn:
        res = await backend.enqueue_many([spec(unique_key="tx-1")], conn=conn)
    assert len(res.ids) == 1
    [job] = await backend.claim("w", 10, lease_s=LEASE)
    assert job.unique_key == "tx-1"


async def test_a_schedule_fires_once_per_period_and_once_after_downtime(backend: Any, clock: Any) -> None:
    job = spec("report", partner=3, payload={"days": 7})
    await backend.set_schedule("p3:report", job, 60.0, first_in=10.0)
    assert await backend.fire_due_schedules() == 0  # not due yet
    clock.advance(10.0)
    # Two workers look at the same moment: one firing.
    assert sum(await asyncio.gather(backend.fire_due_schedules(), backend.fire_due_schedules())) == 1
    assert await backend.fire_due_schedules() == 0
    [sched] = await backend.list_schedules()
    assert (sched.name, sched.fired, sched.every_s) == ("p3:report", 1, 60.0)
    assert sched.next_at - clock() == pytest.approx(60.0)
    # Down for ten periods: one firing when it is back, not ten, and the next period from now.
    clock.advance(600.0)
    assert await backend.fire_due_schedules() == 1
    [sched] = await backend.list_schedules()
    assert sched.fired == 2 and sched.next_at - clock() == pytest.approx(60.0)
    jobs = await backend.list_jobs(kind="report", limit=10)
    assert len(jobs) == 2 and all(j.payload == {"days": 7} and j.partner_id == 3 for j in jobs)
    # Set again with the same period: its next firing is kept; a new period starts from now.
    await backend.set_schedule("p3:report", spec("report", partner=3, payload={"days": 1}), 60.0)
    [sched] = await backend.list_schedules()
    assert sched.next_at - clock() == pytest.approx(60.0) and sched.job.payload == {"days": 1}
    await backend.set_schedule("p3:report", job, 3600.0, first_in=5.0)
    assert (await backend.list_schedules())[0].next_at - clock() == pytest.approx(5.0)
    assert await backend.remove_schedule("p3:report") and not await backend.remove_schedule("p3:report")
    clock.advance(7200.0)
    assert await backend.fire_due_schedules() == 0


async def test_a_new_key_joins_the_rotation_at_the_back(backend: Any, clock: Any) -> None:
    """A key with work left, served a moment ago, is served again before a key that arrived after it:
    a flow of new keys (each partner's pricing and stock as its cards come out) cannot hold back the
    keys already waiting (the other partners' cards) for as long as it flows."""
    await backend.enqueue_many([spec(partner=1, batch_key="cards-1") for _ in range(30)])
    first = await backend.claim("w", 10, lease_s=LEASE)
    assert {j.batch_key for j in first} == {"cards-1"}
    for n in range(3):
        clock.advance(0.001)
        await backend.enqueue_many([spec(partner=10 + n, batch_key=f"pricing-{n}")])
    clock.advance(0.001)
    assert {j.batch_key for j in await backend.claim("w", 10, lease_s=LEASE)} == {"cards-1"}
    served = [(await backend.claim("w", 10, lease_s=LEASE))[0].batch_key for _ in range(3)]
    assert served == ["pricing-0", "pricing-1", "pricing-2"]  # then the newcomers, in arrival order
