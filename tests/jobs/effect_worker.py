"""A worker process for the crash and exclusivity tests: ``python -m tests.jobs.effect_worker URL``.

Its ``effect`` handler records every run in ``effect_runs`` and the job's effect idempotently in
``effects`` (primary key on the job id), after a short pause so that a kill lands mid-job.
"""

from __future__ import annotations

import asyncio
import os
import sys

from sqlalchemy import text

from aimanager.db.engine import make_engine
from aimanager.jobs import Job, Registry, SQLBackend, Worker, WorkerConfig

CREATE = [
    "CREATE TABLE IF NOT EXISTS effects (job_id BIGINT PRIMARY KEY, worker TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS effect_runs (job_id BIGINT NOT NULL, worker TEXT NOT NULL,"
    " started DOUBLE PRECISION NOT NULL, ended DOUBLE PRECISION NOT NULL)",
]


async def create_tables(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        for stmt in CREATE:
            await conn.execute(text(stmt))
    await engine.dispose()


def effect_registry(backend: SQLBackend, worker_name: str) -> Registry:
    async def effect(job: Job) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.sleep(job.payload.get("ms", 100) / 1000.0)
        async with backend.engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO effects (job_id, worker) VALUES (:j, :w) ON CONFLICT DO NOTHING"),
                {"j": job.id, "w": worker_name},
            )
            await conn.execute(
                text("INSERT INTO effect_runs VALUES (:j, :w, :s, :e)"),
                {"j": job.id, "w": worker_name, "s": started, "e": loop.time()},
            )

    reg = Registry()
    reg.register("effect", effect)
    return reg


async def main(url: str, lease: float, concurrency: int, until_idle: bool) -> None:
    backend = SQLBackend(make_engine(url), owns_engine=True)
    name = f"pid{os.getpid()}"
    worker = Worker(
        backend,
        effect_registry(backend, name),
        WorkerConfig(concurrency=concurrency, lease_s=lease),
        worker_id=name,
    )
    await worker.run(until_idle=until_idle, install_signals=True)
    await backend.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "idle"))
