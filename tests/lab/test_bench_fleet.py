"""``aimanager bench fleet`` end to end on a small fleet: sandboxes, onboarding, import, run and two
worker processes, all as public commands, on PostgreSQL + Redis."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.servers import PG_HOST, PG_PORT, REDIS_HOST, REDIS_PORT, require_server

pytestmark = pytest.mark.long


async def database_exists(name: str) -> bool:
    import asyncpg

    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user="postgres", database="test")
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await conn.close()


def test_a_small_fleet_runs_through_public_commands_and_is_measured(tmp_path: Path) -> None:
    require_server("PostgreSQL", PG_HOST, PG_PORT)
    require_server("Redis", REDIS_HOST, REDIS_PORT)
    name = f"aimanager_fleet_{uuid.uuid4().hex[:8]}"
    args = [
        "bench", "fleet", "--partners", "3", "--skus", "5", "--workers", "2", "--concurrency", "16",
        "--time-scale", "0.05", "--no-write", "--timeout", "400",
        "--pg-url", f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/{name}",
        # Its own Redis database: the bench flushes it (the manual runs use 5, the suite's tests 0).
        "--redis-url", f"redis://{REDIS_HOST}:{REDIS_PORT}/6",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIMANAGER_")}
    done = subprocess.run(
        [sys.executable, "-m", "aimanager", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = done.stdout
    assert done.returncode == 0, done.stderr[-3000:] + out[-3000:]
    assert "12 accounts" in out  # 3 partners × 4 marketplaces, each opened and seeded by `sandbox up`
    assert "accounts: 12 connected" in out and "0 row(s) rejected" in out  # `partners import`, tested live
    assert "did not drain" not in out
    # 60 cards + 60 prices + 60 stock levels + 3 reports, every one of them with an outcome.
    tasks = re.search(r"\| tasks \| ([\d,]+): (.*) \|", out)
    assert tasks is not None and tasks.group(1) == "183", out
    succeeded = re.search(r"\| tasks succeeded \| ([\d.]+) % \|", out)
    assert succeeded is not None and float(succeeded.group(1)) >= 90.0, out
    assert re.search(r"\| LLM calls, input / output tokens \| [1-9]", out), out  # the LLM was really called
    assert re.search(r"\| start latency p50 / p99, medium \(ms\) \| [\d,]+ / [\d,]+ \(", out), out
    workers = re.search(r"\| peak RSS per worker process \| (.*) \|", out)
    assert workers is not None and len(workers.group(1).split(", ")) == 2, out  # --processes 2
    assert re.search(r"\| peak memory of PostgreSQL .* \| [1-9][\d,]* MB \|", out), out
    assert not (tmp_path / "BENCHMARKS.md").exists()  # --no-write
    assert not asyncio.run(database_exists(name))  # dropped after the run
