"""The public-path harness of the benches (``public_run``): the commands it builds from the options, what
it reads back from ``aimanager run``'s output and from the database, and ``sandbox up``'s faults."""

from __future__ import annotations

import asyncio
import itertools
from decimal import Decimal
from pathlib import Path

import pytest

from aimanager_lab.bench.figures import RunFigures
from aimanager_lab.bench.fleet import FleetOptions
from aimanager_lab.bench.fleet_measure import read_figures
from aimanager_lab.bench.public_run import (
    planned_tasks,
    recreate_database,
    run_args,
    sandbox_args,
    worker_args,
)
from aimanager_lab.bench.scenario import ours_figures
from aimanager_sandbox.knobs import SandboxKnobs
from aimanager_sandbox.up import UpOptions, llm_config

RUN_OUTPUT = """queued 3 job(s), asked at medium priority: cards 240 (medium)
waiting on cards: analytics 3 (low), pricing 240 (medium), stock 240 (medium)
(queued by 1 follow-up job(s) as each partner's cards are out)
"""


def test_the_tasks_run_planned_are_read_from_its_output() -> None:
    assert planned_tasks(RUN_OUTPUT) == {"cards": 240, "analytics": 3, "pricing": 240, "stock": 240}
    # Wrapped by a narrow terminal, the follow-up note falls on a line of its own: still not a task.
    assert planned_tasks("queued 0 job(s), asked at urgent priority: nothing to do\n") == {}
    fig = ours_figures(RunFigures("x", tasks=700, succeeded=700), RUN_OUTPUT)
    assert (fig.name, fig.tasks, fig.succeeded) == ("AI Manager", 723, 700)  # 23 never ran: not succeeded


def test_the_commands_follow_the_options(tmp_path: Path) -> None:
    fleet = FleetOptions()
    assert worker_args(fleet, 9100)[-6:] == [
        "--processes",
        "2",
        "--concurrency",
        "64",
        "--metrics-port",
        "9100",
    ]
    assert run_args(fleet)[-8:] == ["-c", "cards", "-c", "pricing", "-c", "stock", "-c", "analytics"]
    up = sandbox_args(fleet, tmp_path / "s.json", tmp_path / "c.csv", tmp_path / "a.jsonl")
    assert not any(a.startswith("--llm-") or a == "--market-error-rate" for a in up)  # honest defaults

    one = FleetOptions(
        single_worker=True, concurrency=8, capabilities=("cards",), priority="low",
        sandbox=SandboxKnobs(llm_error_rate=0.05, market_error_rate=0.02, llm_otpm=0, llm_batch_seconds=30.0),
    )  # fmt: skip
    assert worker_args(one, 9101)[-5:] == ["worker", "--concurrency", "8", "--metrics-port", "9101"]
    assert run_args(one)[-4:] == ["-c", "cards", "--priority", "low"]
    up = sandbox_args(one, tmp_path / "s.json", tmp_path / "c.csv", tmp_path / "a.jsonl")
    pairs = dict(itertools.pairwise(up))  # each flag → the word after it
    assert pairs["--llm-error-rate"] == "0.05" and pairs["--market-error-rate"] == "0.02"
    assert pairs["--llm-otpm"] == "0" and pairs["--llm-batch-seconds"] == "30.0"


def test_sandbox_up_passes_faults_and_limits_to_the_llm_sandbox() -> None:
    default = llm_config(UpOptions())
    assert default.rpm == 4000 and default.otpm == 800_000 and default.batch_seconds is None
    config = llm_config(
        UpOptions(
            knobs=SandboxKnobs(
                llm_error_rate=0.1, llm_rpm=50, llm_otpm=0, llm_bad_answer_rate=0.0, llm_batch_seconds=5
            )
        )
    )
    assert config.error_500_rate == pytest.approx(0.05) and config.overload_rate == pytest.approx(0.05)
    assert config.rate_limit_rate == 0.0
    assert config.rpm == 50 and config.otpm is None and config.itpm == default.itpm  # 0 lifts the limit
    assert config.batch_seconds == 5


SCHEMA = [
    "CREATE TABLE tasks (id INTEGER PRIMARY KEY, capability TEXT, status TEXT, reason TEXT)",
    "CREATE TABLE jobs (id INTEGER PRIMARY KEY, kind TEXT, priority INTEGER, status TEXT,"
    " queue_wait_ms REAL, finished_at REAL)",
    "CREATE TABLE ai_usage_logs (id INTEGER PRIMARY KEY, path TEXT, task_kind TEXT, input_tokens INTEGER,"
    " output_tokens INTEGER, cost_usd NUMERIC)",
]
ROWS = [
    "INSERT INTO tasks (capability, status, reason) VALUES ('cards', 'done', NULL), ('cards', 'done', NULL),"
    " ('pricing', 'failed', 'ozon: product not found')",
    # priority 0 = urgent, 2 = medium; started at epoch 1000
    "INSERT INTO jobs (kind, priority, status, queue_wait_ms, finished_at) VALUES"
    " ('cards.generate', 2, 'succeeded', 100, 1010), ('run.followups', 2, 'succeeded', 5, 1012),"
    " ('pricing.apply', 0, 'succeeded', 40, 1020), ('pricing.apply', 0, 'failed', 60, 1015)",
    "INSERT INTO ai_usage_logs (path, task_kind, input_tokens, output_tokens, cost_usd) VALUES"
    " ('realtime', 'card', 1000, 5000, 0.25), ('cache', 'card', 0, 0, 0),"
    " ('realtime', 'report', 10, 20, 0.5)",
]


def test_figures_are_read_from_a_sqlite_database(tmp_path: Path) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    url = f"sqlite+aiosqlite:///{tmp_path / 'bench.db'}"

    async def body() -> tuple[RunFigures, dict[str, object]]:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                for statement in SCHEMA + ROWS:
                    await conn.execute(text(statement))
            async with engine.connect() as conn:
                return await read_figures(conn, started_epoch=1000.0, followups_kind="run.followups")
        finally:
            await engine.dispose()

    fig, counts = asyncio.run(body())
    assert (fig.tasks, fig.succeeded) == (3, 2)
    assert (fig.llm_calls, fig.input_tokens, fig.output_tokens) == (2, 1010, 5020)  # a cache hit is no call
    assert fig.cost_usd == Decimal("0.75") and fig.card_cost_usd == Decimal("0.25")
    assert fig.latency_ms == {"medium": [100.0, 5.0], "urgent": [40.0, 60.0]}
    assert fig.wall_s == 20.0 and fig.phase_s["cards"] == 12.0
    assert "pricing: ozon: product not found" in fig.failures and "1 jobs dead-lettered" in fig.failures
    assert counts["left"] == []
    (tmp_path / "bench.db-wal").write_text("")
    asyncio.run(recreate_database(url, drop_only=True))  # a fresh SQLite file: the old one and its WAL go
    assert not (tmp_path / "bench.db").exists() and not (tmp_path / "bench.db-wal").exists()
