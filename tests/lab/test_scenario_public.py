"""``aimanager bench scenario`` end to end on a tiny catalog, AI Manager through its public commands only
(sandbox up with the scenario's faults, init, import, partners import, worker, run; urgent repricings
through the HTTP API), on the embedded SQLite database."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.long


def test_the_scenario_runs_through_public_commands_and_measures_the_urgent_requests(tmp_path: Path) -> None:
    args = [
        "bench", "scenario", "--partners", "2", "--skus", "5", "--urgent", "3", "--no-baseline",
        "--no-write", "--time-scale", "0.05", "--concurrency", "16",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIMANAGER_")}
    env["COLUMNS"] = "400"  # one table row per line
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
    assert "8 accounts" in out  # 2 partners × 4 marketplaces, opened and seeded by `sandbox up`
    assert "API key 1 (admin) created" in out  # the urgent requests' key, made by `apikeys create`
    # 10 products: 40 cards (a card per listing) + 40 prices + 40 stock levels + 2 reports, as planned
    # by `aimanager run`, every one of them with an outcome in the tasks table.
    assert re.search(r"\| tasks \| 122 \|", out), out
    succeeded = re.search(r"\| tasks succeeded \| ([\d,]+) \(([\d.]+) %\)", out)
    assert succeeded is not None and float(succeeded.group(2)) >= 90.0, out
    assert re.search(r"\| LLM calls \| [1-9]", out), out  # the LLM sandbox was really called
    # The urgent requests' jobs ran and their start latency was read from the jobs table.
    assert re.search(r"\| start latency p50 / p99, urgent \(ms\) \| [\d,]+ / [\d,]+ \|", out), out
    assert re.search(r"\| start latency p50 / p99, medium \(ms\) \| [\d,]+ / [\d,]+ \|", out), out
    assert "did not drain" not in out
    assert not (tmp_path / "BENCHMARKS.md").exists()  # --no-write
