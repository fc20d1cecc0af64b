"""The engine under faults: worker processes SIGKILLed at random through a multi-partner run, and a
PostgreSQL restart mid-run.

Each run's "external system" is the ``effects`` table of ``tests.jobs.effect_worker`` (one row per job
whose effect happened, its primary key making the effect idempotent, as a marketplace's idempotency
key does) and ``effect_runs`` (every run, like a provider's bill). Afterwards: every job ended
(succeeded, or dead/failed with a reason), no job is left running, the effects are exactly the
succeeded jobs (the external system holds what the database says), and no job's effect was applied
twice.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from aimanager.db.engine import make_engine
from aimanager.jobs import JobSpec, SQLBackend
from aimanager.schema.migrate import upgrade
from tests.chaos.conftest import OwnPostgres
from tests.jobs.effect_worker import create_tables
from tests.servers import create_pg_database, drop_pg_database

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.chaos, pytest.mark.slow, pytest.mark.long]


def start_worker(url: str, lease: float = 3.0, concurrency: int = 20) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.jobs.effect_worker", url, str(lease), str(concurrency), "forever"],
        cwd=ROOT,
        env={**os.environ, "AIMANAGER_LOG_LEVEL": "ERROR"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def rows(engine, sql: str) -> list[tuple]:  # type: ignore[no-untyped-def, type-arg]
    async with engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(text(sql))).all()]


async def settled(engine, n: int, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        try:
            [(ended,)] = await rows(
                engine, "SELECT count(*) FROM jobs WHERE status IN ('succeeded', 'failed', 'dead')"
            )
        except Exception:
            ended = -1  # the server is restarting
        if ended == n:
            return
        assert time.monotonic() < deadline, f"only {ended} of {n} jobs ended in {timeout:.0f} s"
        await asyncio.sleep(0.2)


async def check_outcome(engine, n: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    statuses = dict(await rows(engine, "SELECT status, count(*) FROM jobs GROUP BY status"))
    assert sum(statuses.values()) == n and "running" not in statuses and "queued" not in statuses
    assert (
        await rows(
            engine, "SELECT id FROM jobs WHERE status IN ('failed', 'dead') AND coalesce(last_error, '') = ''"
        )
        == []
    ), "a job ended without a reason"
    succeeded = {r[0] for r in await rows(engine, "SELECT id FROM jobs WHERE status = 'succeeded'")}
    effects = [r[0] for r in await rows(engine, "SELECT job_id FROM effects")]
    assert len(effects) == len(set(effects))  # nothing applied (charged) twice
    # The external system holds exactly what the database says: an effect for every succeeded job,
    # and none for a job the database does not count as done.
    assert set(effects) == succeeded
    return statuses


async def test_random_workers_sigkilled_every_few_seconds(tmp_path: Path) -> None:
    url = await create_pg_database()
    engine = make_engine(url)
    await upgrade(engine)
    await create_tables(url)
    backend = SQLBackend(engine)
    rng = random.Random(14)
    n = 6000
    # 30 partners × 200 jobs of 50-250 ms, over three worker processes of concurrency 20: about 15 s of
    # work, so kills every 1.5-3 s land while there is work (at 1,500 the engine finished in 4 kills).
    await backend.enqueue_many(
        [JobSpec("effect", {"ms": rng.randint(50, 250)}, partner_id=i % 30) for i in range(n)]
    )
    workers = [start_worker(url) for _ in range(3)]
    kills = 0
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 25:
            await asyncio.sleep(rng.uniform(1.5, 3.0))
            [(left,)] = await rows(engine, "SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')")
            if not left:
                break
            # A worker that holds running jobs: one restarted a moment ago may still be importing, and
            # killing it would test nothing (on a loaded machine that can be every kill of a run).
            holding = {
                r[0]
                for r in await rows(engine, "SELECT DISTINCT worker_id FROM jobs WHERE status = 'running'")
            }
            busy = [i for i, w in enumerate(workers) if f"pid{w.pid}" in holding]
            if not busy:
                continue
            victim = rng.choice(busy)
            workers[victim].send_signal(signal.SIGKILL)
            workers[victim].wait()
            kills += 1
            workers[victim] = start_worker(url)  # what the supervisor does
        assert kills >= 5, f"only {kills} kills landed before the work ran out: the test proves little"
        await settled(engine, n, timeout=60)
        statuses = await check_outcome(engine, n)
        assert statuses == {"succeeded": n}, statuses  # a few crashes each use no handler attempt
        [(crashed,)] = await rows(engine, "SELECT count(*) FROM jobs WHERE crashes > 0")
        assert crashed > 0, "no kill caught a job mid-run"
        [(runs,)] = await rows(engine, "SELECT count(*) FROM effect_runs")
        assert runs >= n  # at least once; the idempotent effect keeps the external state exact
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGKILL)
                w.wait()
        await backend.close()
        await engine.dispose()
        await drop_pg_database(url)


async def test_postgresql_restart_mid_run(own_postgres: OwnPostgres) -> None:
    engine = make_engine(own_postgres.url, pool_pre_ping=True)  # the test's own reads survive it too
    await upgrade(engine)
    await create_tables(own_postgres.url)
    backend = SQLBackend(engine)
    n = 800
    await backend.enqueue_many([JobSpec("effect", {"ms": 60}, partner_id=i % 20) for i in range(n)])
    workers = [start_worker(own_postgres.url, lease=5.0) for _ in range(2)]
    try:
        while (await rows(engine, "SELECT count(*) FROM effects"))[0][0] < n // 5:
            await asyncio.sleep(0.1)
        away = own_postgres.restart()
        restarted_at = time.monotonic()
        [(before,)] = await rows(engine, "SELECT count(*) FROM effects")
        while (await rows(engine, "SELECT count(*) FROM effects"))[0][0] == before:
            assert time.monotonic() - restarted_at < 30, "work did not resume after the restart"
            await asyncio.sleep(0.05)
        resumed_s = time.monotonic() - restarted_at
        await settled(engine, n, timeout=60)
        assert [w.poll() for w in workers] == [None, None], "a worker exited because the database restarted"
        statuses = await check_outcome(engine, n)
        assert statuses == {"succeeded": n}, statuses
        print(f"postgresql away {away:.1f} s; work resumed {resumed_s:.2f} s after it was back")
        assert resumed_s <= 5.0
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGKILL)
                w.wait()
        await backend.close()
        await engine.dispose()
