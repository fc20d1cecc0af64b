"""Worker processes on one database: SIGKILL recovery and exclusive holding (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from aimanager.db.engine import make_engine
from aimanager.jobs import JobSpec, SQLBackend
from tests.jobs.effect_worker import create_tables

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def start_worker(url: str, lease: float, concurrency: int, until_idle: bool) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.jobs.effect_worker",
            url,
            str(lease),
            str(concurrency),
            "idle" if until_idle else "forever",
        ],
        cwd=ROOT,
        env={**os.environ, "AIMANAGER_LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def scalar(engine, sql: str) -> int:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar() or 0)


async def wait_for(predicate, what: str, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_sigkilled_worker_jobs_are_finished_by_another_exactly_once(sql_url: str) -> None:
    await create_tables(sql_url)
    backend = SQLBackend(make_engine(sql_url), owns_engine=True)
    n = 120
    await backend.enqueue_many(
        [JobSpec(kind="effect", partner_id=i % 7, payload={"ms": 200}) for i in range(n)]
    )
    victim = start_worker(sql_url, lease=2.0, concurrency=30, until_idle=False)
    try:
        await wait_for(
            lambda: scalar(backend.engine, "SELECT count(*) FROM jobs WHERE status = 'running'"),
            "the first worker to hold jobs",
        )
        await wait_for(lambda: scalar(backend.engine, "SELECT count(*) FROM effects"), "a first effect")
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait()
    held = await scalar(backend.engine, "SELECT count(*) FROM jobs WHERE status = 'running'")
    assert held > 0, "the kill must land while the worker holds jobs"

    rescuer = start_worker(sql_url, lease=2.0, concurrency=30, until_idle=True)
    assert rescuer.wait(timeout=120) == 0, rescuer.stderr.read().decode() if rescuer.stderr else ""

    assert await scalar(backend.engine, "SELECT count(*) FROM jobs WHERE status = 'succeeded'") == n
    assert await scalar(backend.engine, "SELECT count(*) FROM effects") == n
    assert await scalar(backend.engine, "SELECT count(DISTINCT job_id) FROM effects") == n
    # At-least-once: some jobs the victim held ran again; the idempotent effect shows each once.
    assert await scalar(backend.engine, "SELECT count(*) FROM jobs WHERE attempts = 2") >= 1
    await backend.close()


async def test_two_workers_never_hold_the_same_job(sql_url: str) -> None:
    await create_tables(sql_url)
    backend = SQLBackend(make_engine(sql_url), owns_engine=True)
    n = 600
    await backend.enqueue_many(
        [JobSpec(kind="effect", partner_id=i % 13, payload={"ms": 5}) for i in range(n)]
    )
    workers = [start_worker(sql_url, lease=15.0, concurrency=40, until_idle=True) for _ in range(2)]
    for w in workers:
        assert w.wait(timeout=180) == 0, w.stderr.read().decode() if w.stderr else ""
    assert await scalar(backend.engine, "SELECT count(*) FROM jobs WHERE status = 'succeeded'") == n
    # Every job ran exactly once: had two workers held one job, it would have two runs.
    assert await scalar(backend.engine, "SELECT count(*) FROM effect_runs") == n
    assert await scalar(backend.engine, "SELECT count(DISTINCT job_id) FROM effect_runs") == n
    assert await scalar(backend.engine, "SELECT count(DISTINCT worker) FROM effect_runs") == 2
    await backend.close()
