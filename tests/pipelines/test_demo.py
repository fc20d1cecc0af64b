"""``aimanager demo`` end to end (small): every capability's tasks done, reports written, and a second
run over the unchanged catalog serves the cards from the cache."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from aimanager.settings import Settings
from aimanager_lab.demo import DemoOptions, run_demo

pytestmark = pytest.mark.slow


async def test_demo_runs_everything_and_a_second_run_costs_almost_nothing(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}", secret_key_file=tmp_path / "key"
    )
    opts = DemoOptions(partners=2, skus=8, time_scale=0.005, concurrency=16, urgent=2, report_dir=tmp_path)
    out = StringIO()
    first = await run_demo(settings, opts, Console(file=out, width=120))
    # 2 partners × 8 SKUs × 4 marketplaces; pricing also counts the urgent repricings' tasks.
    assert first.tasks["cards"] == 64 and first.tasks["stock"] == 64 and first.tasks["analytics"] == 2
    assert first.tasks["pricing"] == 64 + 2 * 4
    for cap, total in first.tasks.items():
        assert first.done.get(cap, 0) == total, (cap, first.failures[:3])
    assert first.previous_cost is None and len(first.reports) == 2
    assert all(Path(p).is_file() for p in first.reports)
    assert "urgent" in first.sla and first.llm["calls"] > 0

    second = await run_demo(settings, opts, Console(file=out, width=120))
    assert second.previous_cost is not None and second.previous_cost > 0
    # The catalog is unchanged: no card is written again (not even from the cache); only the
    # narratives are new calls.
    assert second.llm["calls"] <= 2
    # The SLA table counts this run's jobs only, not the first run's as well.
    assert sum(n for n, _ in second.sla.values()) <= sum(n for n, _ in first.sla.values())
