"""Starting a run: cards now, each partner's pricing and stock by its follow-up job once its cards
are out — driven by nothing but a worker on the product's registry, as ``aimanager run`` followed by
``aimanager worker`` is."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from aimanager.db.crypto import CredentialBox, generate_key
from aimanager.db.engine import make_engine
from aimanager.domain.enums import Capability
from aimanager.jobs import (
    JobSpec,
    JobStatus,
    MemoryBackend,
    PermanentFailure,
    Priority,
    Snooze,
    SQLBackend,
    Worker,
    WorkerConfig,
)
from aimanager.pipelines.registry import pipeline_registry
from aimanager.pipelines.services.followups import (
    FOLLOWUPS_KIND,
    MAX_POLL_S,
    MAX_WAIT_S,
    followup_spec,
    run_followups,
)
from aimanager.pipelines.services.runs import start_run
from aimanager.pipelines.services.wiring import build_runtime
from aimanager.schema.migrate import upgrade
from aimanager.settings import Settings
from aimanager_lab.environment import SandboxWorld, connect_partners
from aimanager_lab.sample_catalog import generate_catalog, insert_catalog


async def test_a_followup_snoozes_while_its_partner_has_card_jobs_then_gives_up_visibly() -> None:
    now = [1_000_000.0]
    backend = MemoryBackend(clock=lambda: now[0])
    await backend.enqueue_many([JobSpec("cards.generate", {"product_ids": [1]}, partner_id=1)])
    spec = followup_spec([1], [Capability.PRICING], skus=None, priority=Priority.MEDIUM, poll_s=0.5)
    [job_id] = (await backend.enqueue_many([spec])).ids
    job = await backend.get(job_id)
    assert job is not None
    rt = SimpleNamespace(backend=backend)  # only the backend is reached before the partner is found busy
    looks = []
    for waited in (0.0, 60.0, 3600.0, MAX_WAIT_S):
        now[0] = job.enqueued_at + waited
        with pytest.raises(Snooze) as snoozed:
            await run_followups(rt, job)  # type: ignore[arg-type]
        looks.append(snoozed.value.delay)
        assert snoozed.value.payload is not None and snoozed.value.payload["partners"] == [1]
    # At first every poll_s, then a growing share of the wait, never more than MAX_POLL_S apart.
    assert looks == [0.5, 3.0, MAX_POLL_S, MAX_POLL_S]
    now[0] = job.enqueued_at + MAX_WAIT_S + 1
    with pytest.raises(PermanentFailure, match="cards still in flight"):
        await run_followups(rt, job)  # type: ignore[arg-type]


@pytest.mark.slow
async def test_run_prices_and_stocks_each_partner_after_its_cards(db_url: str, tmp_path: Path) -> None:
    world = SandboxWorld(time_scale=0.005).start()
    # A shared database (PostgreSQL) needs the key given: no key file is ever made for it.
    settings = Settings(database_url=db_url, secret_key_file=tmp_path / "key", secret_key=generate_key())
    engine = make_engine(db_url)
    await upgrade(engine)
    backend = SQLBackend(engine)
    await backend.setup()
    rt = await build_runtime(
        settings,
        backend=backend,
        gateway_config=world.gateway_config(),
        connector_overrides=world.connector_overrides(export_dir=tmp_path / "exports"),
        report_dir=tmp_path / "reports",
    )
    try:
        report = await insert_catalog(rt.sessions, generate_catalog(partners=2, skus=6))
        assert report.ok, report.errors
        await connect_partners(world, rt.sessions, CredentialBox.from_settings(settings))
        run = await start_run(
            rt.sessions,
            rt.backend,
            [Capability.CARDS, Capability.PRICING, Capability.STOCK],
            poll_s=0.05,
        )
        # Cards are queued now; pricing and stock wait, one follow-up job for both partners.
        assert run.queued == {"cards": 48}
        assert run.waiting == {"pricing": 48, "stock": 48}
        assert len(run.followup_job_ids) == 1 and run.waiting_partners == [1, 2]

        await Worker(rt.backend, pipeline_registry(rt), WorkerConfig(concurrency=16)).run(until_idle=True)

        assert rt.progress.failures == []  # no "no card" failure: prices and stock came after cards
        assert rt.progress.done == {"cards": 48, "pricing": 48, "stock": 48, "analytics": 0}
        jobs = await rt.backend.list_jobs(limit=1000)
        assert {j.status for j in jobs} == {JobStatus.SUCCEEDED}
        [followup] = [j for j in jobs if j.kind == FOLLOWUPS_KIND]
        assert [followup.id] == run.followup_job_ids
        assert followup.result == {"pricing": 48, "stock": 48}  # what it queued, over all its looks
        for partner_id in run.waiting_partners:
            mine = [j for j in jobs if j.partner_id == partner_id]
            cards_done = max(j.finished_at or 0.0 for j in mine if j.kind in ("cards.generate", "cards.push"))
            later = [j for j in mine if j.kind in ("pricing.apply", "stock.sync")]
            assert later and all((j.enqueued_at or 0.0) >= cards_done for j in later)
    finally:
        await rt.aclose()
        await backend.close()
        await engine.dispose()
        world.stop()
