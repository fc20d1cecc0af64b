"""Capabilities on a schedule: the operator's default covers every partner without a schedule of its
own; each firing is the run ``aimanager run`` would start."""

from __future__ import annotations

from pathlib import Path

import pytest

from aimanager.domain.enums import Capability
from aimanager.jobs import MemoryBackend
from aimanager.llm import GatewayConfig
from aimanager.pipelines.services.schedules import (
    SCHEDULED_KIND,
    parse_every,
    run_scheduled,
    set_capability_schedule,
)
from aimanager.pipelines.services.wiring import build_runtime
from aimanager.schema.migrate import upgrade
from aimanager.settings import Settings
from aimanager_lab.sample_catalog import generate_catalog, insert_catalog


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_periods_are_read_in_minutes_hours_and_days() -> None:
    assert [parse_every(t) for t in ("90s", "10m", "6h", "1d", "1.5h")] == [90, 600, 21600, 86400, 5400]
    for bad in ("10", "5s", "ten minutes", "-1m"):
        with pytest.raises(ValueError):
            parse_every(bad)


async def test_the_default_schedule_leaves_out_partners_with_their_own(tmp_path: Path) -> None:
    from aimanager.db.engine import make_engine

    url = f"sqlite+aiosqlite:///{tmp_path / 's.db'}"
    engine = make_engine(url)
    await upgrade(engine)
    await engine.dispose()
    clock = Clock()
    backend = MemoryBackend(clock=clock)
    settings = Settings(database_url=url, secret_key_file=tmp_path / "key")
    rt = await build_runtime(settings, backend=backend, gateway_config=GatewayConfig())
    try:
        report = await insert_catalog(rt.sessions, generate_catalog(partners=2, skus=2))
        assert report.ok
        await set_capability_schedule(backend, Capability.ANALYTICS, 86400.0)
        await set_capability_schedule(backend, Capability.ANALYTICS, 3600.0, partner_id=2)
        assert await backend.fire_due_schedules() == 2
        fired = [
            *await backend.claim("w", 10, lease_s=60, kinds=[SCHEDULED_KIND]),
            *await backend.claim("w", 10, lease_s=60, kinds=[SCHEDULED_KIND]),
        ]  # one batch key per claim
        assert len(fired) == 2
        for job in fired:
            await run_scheduled(rt, job)
        reports = await backend.list_jobs(kind="analytics.report", limit=10)
        assert sorted(j.partner_id for j in reports) == [1, 2]  # partner 2 once: by its own schedule
        # An hour on: only partner 2's schedule is due again.
        clock.now += 3600.0
        assert await backend.fire_due_schedules() == 1
        [job] = await backend.claim("w", 10, lease_s=60, kinds=[SCHEDULED_KIND])
        assert job.payload["partners"] == [2]
    finally:
        await rt.aclose()
