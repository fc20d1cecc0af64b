"""Pausing a job kind or a partner, the same on every backend: claims pass over its queued jobs (the
rest of the queue flows), running jobs finish, resuming makes them claimable; other processes see a
pause within ``PAUSE_REFRESH_S`` of their clock."""

from __future__ import annotations

from typing import Any

import pytest

from aimanager.jobs import Completion, JobSpec, Priority, SQLBackend
from aimanager.jobs.pauses import PAUSE_REFRESH_S, InvalidPause
from tests.jobs.conftest import sql_backend_for

LEASE = 15.0


async def drain(backend: Any) -> list[Any]:
    out: list[Any] = []
    while batch := await backend.claim("w", 100, lease_s=LEASE):
        out += batch
    return out


async def test_a_paused_kind_waits_and_the_rest_flows(backend: Any) -> None:
    await backend.enqueue_many(
        [JobSpec("cards.generate", {}, partner_id=1, priority=Priority.URGENT)] * 3
        + [JobSpec("pricing.run", {}, partner_id=1, priority=Priority.LOW)] * 2
    )
    assert await backend.pause(kind="cards.generate", reason="prompt fix", by="ops") is True
    assert await backend.pause(kind="cards.generate") is False  # already paused
    [p] = await backend.list_pauses()
    assert (p.scope, p.kind, p.partner_id, p.reason, p.paused_by) == (
        "kind",
        "cards.generate",
        None,
        "prompt fix",
        "ops",
    )
    # The urgent backlog is paused: the low pricing jobs behind it are claimed, nothing else.
    got = await drain(backend)
    assert sorted(j.kind for j in got) == ["pricing.run", "pricing.run"]
    assert await backend.resume(kind="cards.generate") is True
    assert await backend.resume(kind="cards.generate") is False
    assert await backend.list_pauses() == []
    assert [j.kind for j in await drain(backend)] == ["cards.generate"] * 3


async def test_a_paused_partner_waits_and_operator_jobs_still_run(backend: Any) -> None:
    await backend.enqueue_many(
        [JobSpec("k", {}, partner_id=7)] * 2
        + [JobSpec("k", {}, partner_id=8)] * 2
        + [JobSpec("alerts.evaluate", {}, partner_id=None)]
    )
    assert await backend.pause(partner_id=7)
    got = await drain(backend)
    assert sorted((j.partner_id or 0) for j in got) == [0, 8, 8]
    # Its running jobs are not touched: a job claimed before the pause still acks.
    await backend.resume(partner_id=7)
    [first, *_] = await backend.claim("w2", 1, lease_s=LEASE)
    await backend.pause(partner_id=7)
    assert await backend.complete("w2", [Completion(first.id, first.attempts, 1.0)]) == 1
    assert await drain(backend) == []
    await backend.resume(partner_id=7)
    assert [j.partner_id for j in await drain(backend)] == [7]


async def test_pause_names_exactly_one_target(backend: Any) -> None:
    with pytest.raises(InvalidPause):
        await backend.pause()
    with pytest.raises(InvalidPause):
        await backend.pause(kind="k", partner_id=1)
    with pytest.raises(InvalidPause):
        await backend.resume()


async def test_another_process_sees_a_pause_within_the_refresh(sql_backend: SQLBackend, clock: Any) -> None:
    url = sql_backend.engine.url.render_as_string(hide_password=False)
    other = await sql_backend_for(url, clock)
    try:
        await sql_backend.enqueue_many([JobSpec("k", {}, partner_id=1)] * 4)
        [one] = await other.claim("w-other", 1, lease_s=LEASE)  # reads the (empty) pause list
        await sql_backend.pause(kind="k")
        # Within the refresh period the other process still claims from its list...
        clock.advance(PAUSE_REFRESH_S / 2)
        assert len(await other.claim("w-other", 1, lease_s=LEASE)) == 1
        # ...and after it, it reads the pause and passes over the kind.
        clock.advance(PAUSE_REFRESH_S)
        assert await other.claim("w-other", 10, lease_s=LEASE) == []
        await sql_backend.resume(kind="k")
        clock.advance(PAUSE_REFRESH_S)
        assert len(await other.claim("w-other", 10, lease_s=LEASE)) == 2
        assert one.kind == "k"
    finally:
        await other.close()


def test_the_cli_pauses_lists_and_resumes(tmp_path: Any) -> None:
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "AIMANAGER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "COLUMNS": "200",
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "aimanager", *args], env=env, capture_output=True, text=True, timeout=120
        )

    assert cli("init").returncode == 0
    done = cli("jobs", "pause", "--kind", "cards.generate", "--reason", "prompt fix", "--by", "ops")
    assert done.returncode == 0 and "paused" in done.stdout, done.stderr
    listed = cli("jobs", "pauses")
    assert "cards.generate" in listed.stdout and "prompt fix" in listed.stdout
    for usage in (
        ("jobs", "pause"),
        ("jobs", "pause", "--kind", "k", "--partner", "x"),
        ("jobs", "resume", "--partner", "nobody"),
    ):
        bad = cli(*usage)
        assert (
            bad.returncode == 2
            and "Traceback" not in bad.stderr
            and len(bad.stderr.strip().splitlines()) == 1
        ), bad.stderr
    assert "resumed" in cli("jobs", "resume", "--kind", "cards.generate").stdout
    assert "cards.generate" not in cli("jobs", "pauses").stdout
