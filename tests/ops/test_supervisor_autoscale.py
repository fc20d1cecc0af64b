"""``aimanager worker --processes auto``: the supervisor adds workers under a backlog that would start
late, publishes ``aimanager_desired_workers``, and goes back to ``--min`` once the queue is idle."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from aimanager.jobs import JobSpec, Priority
from tests.jobs.conftest import sql_backend_for
from tests.ops.test_supervisor import children_of, free_port, until

pytestmark = pytest.mark.slow


async def test_scales_up_under_a_backlog_and_down_when_idle(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}"
    backend = await sql_backend_for(url)
    port = free_port()
    # 160 high jobs of 250 ms at concurrency 2: one worker needs 20 s, past the 5 s start SLA.
    n = 160
    await backend.enqueue_many(
        [JobSpec("sleep", {"ms": 250}, partner_id=i % 8, priority=Priority.HIGH) for i in range(n)]
    )
    argv = [sys.executable, "-m", "aimanager", "worker", "--processes", "auto", "--min", "1", "--max", "3"]
    argv += ["--concurrency", "2", "--scale-every", "0.5", "--scale-down-after", "3"]
    sup = subprocess.Popen(
        [*argv, "--metrics-port", str(port)],
        cwd=tmp_path,
        env={**os.environ, "AIMANAGER_DATABASE_URL": url, "AIMANAGER_LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    metrics = f"http://127.0.0.1:{port}/metrics"
    try:
        async with httpx.AsyncClient(timeout=10) as http:

            async def desired(value: int) -> bool:
                assert sup.poll() is None, sup.stderr.read().decode() if sup.stderr else ""
                try:
                    text = (await http.get(metrics)).text
                except httpx.TransportError:
                    return False
                return f"aimanager_desired_workers {float(value)}" in text

            async def children(count: int) -> bool:
                return len(children_of(sup.pid)) == count

            await until(lambda: desired(3), "the desired count to reach --max", timeout=60)
            await until(lambda: children(3), "three worker processes", timeout=30)
            busy_at_peak = (await backend.stats()).by_status.get("queued", 0)
            assert busy_at_peak > 0, "the backlog drained before the scale-up: the test proves nothing"

            async def drained() -> bool:
                return (await backend.stats()).by_status.get("succeeded", 0) == n

            await until(drained, "every job to finish", timeout=90)
            await until(lambda: desired(1), "the desired count back at --min", timeout=30)
            await until(lambda: children(1), "the extra workers to stop", timeout=60)
        sup.send_signal(signal.SIGTERM)
        assert sup.wait(timeout=60) == 0, sup.stderr.read().decode() if sup.stderr else ""
        assert (await backend.stats()).by_status == {"succeeded": n}
    finally:
        if sup.poll() is None:
            sup.kill()
            sup.wait()
        await backend.close()
