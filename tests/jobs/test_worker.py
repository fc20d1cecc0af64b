"""The worker in-process: handlers, batches, retries, failures, reserve slots, graceful shutdown."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from aimanager.jobs import (
    Job,
    JobSpec,
    JobStatus,
    MemoryBackend,
    PermanentFailure,
    Priority,
    Registry,
    Retry,
    Snooze,
    Worker,
    WorkerConfig,
)
from tests.jobs.conftest import sql_backend_for


@pytest.fixture(params=["memory", "sqlite"])
async def live_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """A backend on the real clock (the worker's loops run in real time)."""
    if request.param == "memory":
        yield MemoryBackend()
        return
    be = await sql_backend_for(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    yield be
    await be.close()


async def test_single_and_batch_handlers(live_backend: Any) -> None:
    seen_batches: list[list[int]] = []
    ran: list[int] = []

    async def one(job: Job) -> dict[str, int]:
        ran.append(job.id)
        return {"double": job.payload["n"] * 2}

    async def many(jobs: list[Job]) -> None:
        seen_batches.append([j.id for j in jobs])
        assert len({j.batch_key for j in jobs}) == 1

    reg = Registry()
    reg.register("one", one)
    reg.register_batch("many", many, max_batch=10)
    ids = (await live_backend.enqueue_many([JobSpec("one", {"n": i}, partner_id=1) for i in range(5)])).ids
    await live_backend.enqueue_many(
        [JobSpec("many", partner_id=p, batch_key=f"k{p}") for p in (1, 2) for _ in range(25)]
    )
    m = await Worker(live_backend, reg, WorkerConfig(concurrency=50)).run(until_idle=True)
    assert sorted(ran) == ids
    assert (await live_backend.get(ids[3])).result == {"double": 6}
    assert sum(len(b) for b in seen_batches) == 50 and max(len(b) for b in seen_batches) <= 10
    assert m.succeeded == 55
    assert (await live_backend.stats()).by_status == {"succeeded": 55}


async def test_retry_permanent_failure_dead_and_unknown_kind(live_backend: Any) -> None:
    attempts: dict[str, int] = {}

    async def flaky(job: Job) -> None:
        attempts["flaky"] = attempts.get("flaky", 0) + 1
        if attempts["flaky"] < 2:
            raise Retry("provider said 429", delay=0.01)

    async def broken(job: Job) -> None:
        raise ValueError("always broken")

    async def refuses(job: Job) -> None:
        raise PermanentFailure("sku has no barcode")

    async def waits(job: Job) -> None:
        attempts["waits"] = attempts.get("waits", 0) + 1
        if attempts["waits"] <= 4:  # more waits than its one attempt allows: none of them counts
            raise Snooze("waiting for cards", delay=0.01)

    reg = Registry()
    reg.register("flaky", flaky)
    reg.register("broken", broken)
    reg.register("refuses", refuses)
    reg.register("waits", waits)
    ids = (
        await live_backend.enqueue_many(
            [
                JobSpec("flaky"),
                JobSpec("broken", max_attempts=2, delay=0),
                JobSpec("refuses"),
                JobSpec("ghost"),
                JobSpec("waits", max_attempts=1),
            ]
        )
    ).ids
    # The backoff of "broken" is ~1 s (jitter 0.5-1.5): the run takes a second or two.
    await Worker(live_backend, reg, WorkerConfig(concurrency=5)).run(until_idle=True)
    flaky_j, broken_j, refuses_j, ghost_j, waits_j = [await live_backend.get(i) for i in ids]
    assert waits_j.status is JobStatus.SUCCEEDED and waits_j.attempts == 1 and waits_j.last_error is None
    assert flaky_j.status is JobStatus.SUCCEEDED and flaky_j.attempts == 2
    assert broken_j.status is JobStatus.DEAD and broken_j.last_error == "ValueError: always broken"
    assert refuses_j.status is JobStatus.FAILED and "no barcode" in refuses_j.last_error
    assert ghost_j.status is JobStatus.FAILED and "unknown job kind 'ghost'" in ghost_j.last_error


LOW_FILL = [(Priority.LOW, 50, 10)]
HIGH_HOLDS_HEADROOM = [(Priority.LOW, 20, 10), (Priority.HIGH, 5, 12)]


@pytest.mark.parametrize(
    ("backlog", "held"),
    [
        # The urgent job runs in the headroom slots, beside ten low jobs that never let go.
        pytest.param(LOW_FILL, 10, id="low-jobs-fill-the-slots"),
        # High jobs waiting on a marketplace take the two headroom slots and keep them: the urgent
        # job runs in the burst, beside twelve slow jobs.
        pytest.param(HIGH_HOLDS_HEADROOM, 12, id="high-jobs-hold-the-headroom"),
    ],
)
async def test_urgent_job_starts_while_slow_jobs_hold_the_worker(
    live_backend: Any, backlog: list[tuple[Priority, int, int]], held: int
) -> None:
    release = asyncio.Event()
    urgent_done = asyncio.Event()

    async def slow(job: Job) -> None:
        await release.wait()

    async def urgent(job: Job) -> None:
        urgent_done.set()

    reg = Registry()
    reg.register("slow", slow)
    reg.register("urgent", urgent)
    worker = Worker(live_backend, reg, WorkerConfig(concurrency=10, urgent_reserve=0.2, prefetch=0))
    task: asyncio.Task[Any] | None = None
    for priority, count, claimed_after in backlog:
        await live_backend.enqueue_many(
            [JobSpec("slow", partner_id=i, priority=priority) for i in range(count)]
        )
        task = task or asyncio.create_task(worker.run(until_idle=True))
        while worker.metrics.claimed < claimed_after:
            await asyncio.sleep(0.01)
    await live_backend.enqueue_many([JobSpec("urgent", priority=Priority.URGENT)])
    await asyncio.wait_for(urgent_done.wait(), 10)
    assert (await live_backend.stats()).by_kind["slow"]["running"] == held
    release.set()
    assert task is not None
    await task


async def test_a_stalled_worker_does_not_reap_its_own_running_jobs() -> None:
    """After a stall longer than the lease, the worker's reaper renews its own leases before reaping."""
    from tests.jobs.conftest import FakeClock

    clock = FakeClock()
    backend = MemoryBackend(clock=clock)
    reaped = asyncio.Event()
    passes = 0
    real_recover = backend.recover_expired

    async def counting_recover(**kw: Any) -> int:
        nonlocal passes
        passes += 1
        if passes >= 3:
            reaped.set()
        return await real_recover(**kw)

    backend.recover_expired = counting_recover  # type: ignore[method-assign]

    async def stalls(job: Job) -> None:
        nonlocal passes
        passes = 0
        clock.advance(100.0)  # the loop "stalled" for far longer than the lease
        await reaped.wait()  # two reaper passes happen while the job still runs

    reg = Registry()
    reg.register("stalls", stalls)
    [job_id] = (await backend.enqueue_many([JobSpec("stalls")])).ids
    worker = Worker(backend, reg, WorkerConfig(concurrency=1, lease_s=0.2))

    async def starved() -> None:  # the heartbeat loop never got its turn during the stall
        await asyncio.Event().wait()

    worker.acks.heartbeat_loop = starved  # type: ignore[method-assign]
    await asyncio.wait_for(worker.run(until_idle=True), 10)
    job = await backend.get(job_id)
    assert job is not None and job.status is JobStatus.SUCCEEDED and job.attempts == 1


async def test_a_kind_at_its_cap_leaves_the_slots_to_other_kinds(live_backend: Any) -> None:
    """Capped jobs (waiting on an outside limit) do not hold every slot: lower-priority work runs."""
    running = 0
    most = 0
    release = asyncio.Event()
    other_ran = asyncio.Event()

    async def waits_on_llm(job: Job) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await release.wait()
        running -= 1

    async def report(job: Job) -> None:
        other_ran.set()

    reg = Registry()
    reg.register("llm", waits_on_llm, max_running=2)
    reg.register("report", report)
    await live_backend.enqueue_many([JobSpec("llm", partner_id=i) for i in range(6)])
    await live_backend.enqueue_many([JobSpec("report", priority=Priority.LOW)])
    worker = Worker(live_backend, reg, WorkerConfig(concurrency=10, prefetch=0))
    task = asyncio.create_task(worker.run(until_idle=True))
    await asyncio.wait_for(other_ran.wait(), 10)  # ran while four higher-priority jobs still wait
    assert (await live_backend.stats()).by_kind["llm"]["queued"] == 4
    release.set()
    await asyncio.wait_for(task, 10)
    assert most == 2


async def test_a_cap_given_as_a_function_follows_it_at_every_claim(live_backend: Any) -> None:
    """A measured cap (the LLM limit's need for calls in flight) is asked anew: raised while jobs wait,
    the waiting jobs are claimed up to the new cap."""
    cap = 1
    running = 0
    most = 0
    two_running = asyncio.Event()
    release = asyncio.Event()

    async def waits_on_llm(job: Job) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        if running == 3:
            two_running.set()
        await release.wait()
        running -= 1

    reg = Registry()
    reg.register("llm", waits_on_llm, max_running=lambda: cap)
    await live_backend.enqueue_many([JobSpec("llm", partner_id=i) for i in range(5)])
    worker = Worker(live_backend, reg, WorkerConfig(concurrency=10, prefetch=0, poll_s=0.01))
    task = asyncio.create_task(worker.run(until_idle=True))
    while running < 1:
        await asyncio.sleep(0.01)
    assert (await live_backend.stats()).by_kind["llm"]["queued"] == 4  # held at the cap of one
    cap = 3
    await asyncio.wait_for(two_running.wait(), 10)  # the raised cap let two more in
    assert (await live_backend.stats()).by_kind["llm"]["queued"] == 2
    release.set()
    await asyncio.wait_for(task, 10)
    assert most == 3


async def test_acks_and_lease_renewals_never_overlap() -> None:
    """On PostgreSQL an ack and a heartbeat over the same rows, run at once, can deadlock."""
    backend = MemoryBackend()
    inside = 0
    overlapped = False
    ack_started = asyncio.Event()
    finish_ack = asyncio.Event()
    real_complete, real_heartbeat = backend.complete, backend.heartbeat

    async def slow_complete(worker_id: str, completions: Any) -> int:
        nonlocal inside
        inside += 1
        ack_started.set()
        await finish_ack.wait()
        inside -= 1
        return await real_complete(worker_id, completions)

    async def watching_heartbeat(worker_id: str, ids: Any, lease_s: float) -> int:
        nonlocal overlapped
        overlapped = overlapped or inside > 0
        return await real_heartbeat(worker_id, ids, lease_s)

    backend.complete = slow_complete  # type: ignore[method-assign]
    backend.heartbeat = watching_heartbeat  # type: ignore[method-assign]
    reg = Registry()
    reg.register("quick", lambda job: asyncio.sleep(0))
    await backend.enqueue_many([JobSpec("quick") for _ in range(3)])
    worker = Worker(backend, reg, WorkerConfig(concurrency=3))
    task = asyncio.create_task(worker.run(until_idle=True))
    await asyncio.wait_for(ack_started.wait(), 10)
    renewal = asyncio.create_task(worker.acks.renew_leases())
    for _ in range(5):
        await asyncio.sleep(0)
    finish_ack.set()
    await asyncio.wait_for(asyncio.gather(renewal, task), 10)
    assert not overlapped


async def test_graceful_shutdown_releases_unfinished_jobs(live_backend: Any) -> None:
    started = asyncio.Event()

    async def stuck(job: Job) -> None:
        started.set()
        await asyncio.Event().wait()

    reg = Registry()
    reg.register("stuck", stuck)
    # Three run, two more are claimed ahead (prefetch): all five must come back unharmed.
    ids = (await live_backend.enqueue_many([JobSpec("stuck") for _ in range(6)])).ids
    worker = Worker(live_backend, reg, WorkerConfig(concurrency=3, prefetch=2, shutdown_timeout_s=0.1))
    task = asyncio.create_task(worker.run())
    await asyncio.wait_for(started.wait(), 10)
    while worker.metrics.claimed < 5:
        await asyncio.sleep(0.01)
    assert (await live_backend.stats()).by_status["running"] == 5
    worker.stop()
    await asyncio.wait_for(task, 10)
    for job_id in ids:
        job = await live_backend.get(job_id)
        assert job.status is JobStatus.QUEUED and job.attempts == 0


async def test_a_job_whose_failure_is_written_is_no_longer_renewed_while_its_batch_goes_on() -> None:
    """Once a failed attempt's outcome is written the row is not this worker's: renewing it (while the
    batch's other outcomes are still being written) would find it gone and report a lost lease."""
    backend = MemoryBackend()
    real_retry_later = backend.retry_later
    held_while_writing: list[set[int]] = []
    worker: Worker | None = None

    async def watching_retry_later(worker_id: str, job: Job, *args: Any, **kwargs: Any) -> Any:
        assert worker is not None
        held_while_writing.append(set(worker.slots.held))
        return await real_retry_later(worker_id, job, *args, **kwargs)

    backend.retry_later = watching_retry_later  # type: ignore[method-assign]

    async def both_fail(jobs: list[Job]) -> dict[int, BaseException]:
        return {job.id: Retry("later", delay=60) for job in jobs}

    reg = Registry()
    reg.register_batch("pair", both_fail, max_batch=2)
    specs = [JobSpec("pair", batch_key="k", partner_id=1, max_attempts=1) for _ in range(2)]
    ids = (await backend.enqueue_many(specs)).ids
    worker = Worker(backend, reg, WorkerConfig(concurrency=4))
    await worker.run(until_idle=True)
    first, second = held_while_writing
    assert set(ids) <= first  # both held while the first outcome is written
    assert ids[0] not in second and ids[1] in second  # the written one let go; the other still held
