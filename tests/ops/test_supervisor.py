"""``aimanager worker --processes N``: a SIGKILLed child comes back, every job finishes, and the
supervisor's ``/healthz`` and ``/metrics`` answer over HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from aimanager.jobs import JobSpec
from tests.jobs.conftest import sql_backend_for

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children_of(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout
    return [int(p) for p in out.split()]


async def until(predicate, what: str, timeout: float = 90.0):  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (value := await predicate()):
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)
    return value


async def test_killed_child_comes_back_and_every_job_finishes(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}"
    backend = await sql_backend_for(url)
    port = free_port()
    n = 60
    await backend.enqueue_many([JobSpec("sleep", {"ms": 300}, partner_id=i) for i in range(n)])
    sup = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aimanager",
            "worker",
            "--processes",
            "2",
            "--concurrency",
            "4",
            "--lease",
            "3",
            "--metrics-port",
            str(port),
        ],
        cwd=tmp_path,
        env={**os.environ, "AIMANAGER_DATABASE_URL": url, "AIMANAGER_LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(timeout=10) as http:

            async def healthy() -> bool:
                assert sup.poll() is None, sup.stderr.read().decode() if sup.stderr else ""
                try:
                    return (await http.get(base + "/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await until(healthy, "a healthy supervisor")
            first = children_of(sup.pid)
            assert len(first) == 2

            async def some_done() -> bool:
                stats = await backend.stats()
                return stats.by_status.get("succeeded", 0) >= 5

            await until(some_done, "the first jobs to finish")
            os.kill(first[0], signal.SIGKILL)

            async def replaced() -> list[int] | None:
                now = children_of(sup.pid)
                return now if len(now) == 2 and first[0] not in now else None

            await until(replaced, "the killed child to be replaced")

            async def all_done() -> bool:
                return (await backend.stats()).by_status.get("succeeded", 0) == n

            await until(all_done, "every job to finish")
            await until(healthy, "health after the restart")
            text = (await http.get(base + "/metrics")).text
            assert 'aimanager_queue_depth{priority="medium"} 0.0' in text
            assert "aimanager_worker_restarts_total 1.0" in text
            assert "aimanager_worker_processes 2.0" in text
            assert 'aimanager_jobs_total{outcome="succeeded"}' in text
            assert "aimanager_job_start_latency_seconds_bucket" in text
        sup.send_signal(signal.SIGTERM)
        assert sup.wait(timeout=60) == 0, sup.stderr.read().decode() if sup.stderr else ""
        assert children_of(sup.pid) == []
        stats = await backend.stats()
        assert stats.by_status == {"succeeded": n}
    finally:
        if sup.poll() is None:
            sup.kill()
            sup.wait()
        await backend.close()
