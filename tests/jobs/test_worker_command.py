"""``aimanager worker`` leases its jobs for ``AIMANAGER_LEASE_SECONDS`` (the setting takes effect)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aimanager.jobs import JobSpec, JobStatus
from tests.jobs.conftest import sql_backend_for

pytestmark = pytest.mark.slow


async def test_the_worker_command_leases_for_the_configured_seconds(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}"
    backend = await sql_backend_for(url)
    try:
        # Long enough to be seen running; the lease is renewed only every lease/3 (200 s).
        [job_id] = (await backend.enqueue_many([JobSpec("sleep", {"ms": 2000})])).ids
        worker = subprocess.Popen(
            [sys.executable, "-m", "aimanager", "worker", "--until-idle", "--concurrency", "1"],
            cwd=tmp_path,
            env={
                **os.environ,
                "AIMANAGER_DATABASE_URL": url,
                "AIMANAGER_LEASE_SECONDS": "600",
                "AIMANAGER_LOG_LEVEL": "WARNING",
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60
            while (job := await backend.get(job_id)) is not None and job.status is JobStatus.QUEUED:
                assert worker.poll() is None, worker.stderr.read().decode() if worker.stderr else ""
                assert loop.time() < deadline, "the worker never started the job"
                await asyncio.sleep(0.02)
            assert job is not None and job.status is JobStatus.RUNNING
            assert job.lease_until is not None and job.started_at is not None
            assert job.lease_until - job.started_at == pytest.approx(600.0)
            assert worker.wait(timeout=120) == 0, worker.stderr.read().decode() if worker.stderr else ""
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        done = await backend.get(job_id)
        assert done is not None and done.status is JobStatus.SUCCEEDED
    finally:
        await backend.close()
