"""A worker survives its PostgreSQL connections being killed mid-run (a restart, as the worker sees it).

A real server restart is not safe on a shared test server, so the test kills every connection of the
worker's engine (its pool and its LISTEN connection, found by their ``application_name``) with
``pg_terminate_backend``, several times while jobs run, and checks that the worker keeps running and
every job ends ``succeeded`` exactly once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

from sqlalchemy import text

from aimanager.db.engine import make_engine
from aimanager.jobs import Job, JobSpec, Registry, SQLBackend, Worker, WorkerConfig
from aimanager.schema.migrate import upgrade
from tests.servers import create_pg_database, drop_pg_database


async def _kill(admin_url: str, app: str) -> int:
    engine = make_engine(admin_url, application_name="aimanager-test-killer")
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :a"),
                {"a": app},
            )
            return sum(1 for (ok,) in rows if ok)
    finally:
        await engine.dispose()


async def test_worker_survives_its_connections_killed_repeatedly() -> None:
    url = await create_pg_database()
    app = f"aimanager-test-{uuid.uuid4().hex[:8]}"
    engine = make_engine(url, application_name=app, pool_size=4)
    await upgrade(engine)
    backend = SQLBackend(engine, owns_engine=True)
    runs: Counter[int] = Counter()
    n = 600

    async def slow(job: Job) -> None:
        runs[job.id] += 1
        await asyncio.sleep(0.02)

    registry = Registry()
    registry.register("slow", slow)

    try:
        await backend.enqueue_many([JobSpec(kind="slow", payload={"i": i}) for i in range(n)])
        worker = Worker(backend, registry, WorkerConfig(concurrency=8, lease_s=6.0, claim_batch=10))
        run = asyncio.create_task(worker.run(until_idle=True))
        killed = rounds = 0
        # Kill whenever some work is done but the queue is not drained yet: at least five times, and
        # on until a kill lands on a statement in flight (kills of idle connections are absorbed by the
        # pool's checkout check; the claim and ack are short, so a few rounds may miss them).
        while rounds < 12 and not run.done() and (rounds < 5 or worker.metrics.store_errors == 0):
            while worker.metrics.succeeded < (rounds + 1) * n // 14 and not run.done():
                await asyncio.sleep(0.01)
            killed += await _kill(url, app)
            rounds += 1
        metrics = await asyncio.wait_for(run, 120)
        assert killed >= 5, f"the test killed only {killed} connections"
        assert not run.exception()
        async with engine.connect() as conn:
            statuses: dict[str, int] = dict(
                (await conn.execute(text("SELECT status, count(*) FROM jobs GROUP BY status"))).all()
            )
        assert statuses == {"succeeded": n}
        assert len(runs) == n
        assert metrics.store_errors > 0, "the kills never reached the worker: the test tests nothing"
        # The LISTEN connection came back too (wake-ups, not only polling).
        assert backend._listener is not None and not backend._listener.is_closed()
    finally:
        await backend.close()
        await drop_pg_database(url)
