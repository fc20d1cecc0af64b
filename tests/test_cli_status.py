"""``aimanager status`` and ``aimanager report`` read what the API reads: spend through the spend
service (this month, by model), reports through the directory service."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.test_cli_errors import cli


def _ledger_row(db: Path, model: str, cost: str, at: datetime, outcome: str = "ok") -> None:
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO ai_usage_logs (partner_id, task_kind, provider, model, path, input_tokens,"
            " output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, latency_ms, outcome, items,"
            " created_at) VALUES (1, 'card', 'anthropic', ?, 'realtime', 100, 200, 0, 0, ?, 5, ?, 1, ?)",
            (model, cost, outcome, at.strftime("%Y-%m-%d %H:%M:%S.%f")),
        )


def test_status_shows_this_months_spend_by_model(tmp_path: Path) -> None:
    db = tmp_path / "status.db"
    env = {"AIMANAGER_DATABASE_URL": f"sqlite+aiosqlite:///{db}"}
    assert cli(tmp_path, "init", env=env).returncode == 0
    now = datetime.now(UTC)
    _ledger_row(db, "claude-haiku-5-5", "0.012", now - timedelta(seconds=5))
    _ledger_row(db, "claude-haiku-5-5", "0.008", now - timedelta(seconds=4))
    # Last month's call is not this month's spend.
    _ledger_row(db, "claude-sonnet-5-5", "9.5", now.replace(day=1) - timedelta(days=3))
    res = cli(tmp_path, "status", env=env)
    assert res.returncode == 0, res.stderr
    assert f"AI spend in {now:%Y-%m}" in res.stdout
    line = next(ln for ln in res.stdout.splitlines() if "claude-haiku-5-5" in ln)
    assert "0.0200" in line and "400" in line, line  # two calls: 0.012 + 0.008 USD, 200 input tokens each
    assert "claude-sonnet-5-5" not in res.stdout


def test_status_and_report_on_an_empty_database(tmp_path: Path) -> None:
    env = {"AIMANAGER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"}
    assert cli(tmp_path, "init", env=env).returncode == 0
    status = cli(tmp_path, "status", env=env)
    assert status.returncode == 0 and "none yet" in status.stdout, status.stderr
    report = cli(tmp_path, "report", env=env)
    assert report.returncode == 0 and report.stdout == "", report.stderr
