"""Bad input to the CLI: a clear one-line error (exit 1; usage errors exit 2), nothing queued harmed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def cli(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aimanager", *args],
        cwd=tmp_path,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def initialised(tmp_path: Path) -> Path:
    assert cli(tmp_path, "init").returncode == 0
    assert cli(tmp_path, "jobs", "enqueue", "noop", "--count", "3").returncode == 0
    return tmp_path


def assert_one_line_error(res: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert res.returncode == 1, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0]


def queued_count(path: Path) -> dict[str, object]:
    res = cli(path, "jobs", "stats", "--json")
    assert res.returncode == 0, res.stderr
    stats = json.loads(res.stdout)
    return {"status": stats["by_status"], "priority": stats["queued_by_priority"]}


def test_unknown_kind(initialised: Path) -> None:
    before = queued_count(initialised)
    assert_one_line_error(
        cli(initialised, "jobs", "enqueue", "no-such-kind"), "unknown job kind 'no-such-kind'"
    )
    assert queued_count(initialised) == before


def test_payload_not_json(initialised: Path) -> None:
    before = queued_count(initialised)
    assert_one_line_error(cli(initialised, "jobs", "enqueue", "noop", "--payload", "{sku: 1"), "not JSON")
    assert_one_line_error(cli(initialised, "jobs", "enqueue", "noop", "--payload", "[1]"), "JSON object")
    assert queued_count(initialised) == before
    assert before["status"] == {"queued": 3}


def test_unreachable_database(tmp_path: Path) -> None:
    res = cli(
        tmp_path, "jobs", "stats", env={"AIMANAGER_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nope"}
    )
    assert_one_line_error(res, "cannot reach database", "127.0.0.1:1")
    res = cli(
        tmp_path, "jobs", "stats", env={"AIMANAGER_DATABASE_URL": f"sqlite:///{tmp_path}/missing/dir/x.db"}
    )
    assert_one_line_error(res, "cannot reach database")


def test_uninitialised_database(tmp_path: Path) -> None:
    assert_one_line_error(cli(tmp_path, "jobs", "list"), "aimanager init")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "--priority", "bogus"], "unknown priority 'bogus'"),
        (["run", "-c", "nope"], "'nope' is not one of"),
        (["no-such-command"], "No such command"),
        (["worker", "--concurrency", "0"], "--concurrency"),
        (["jobs", "retry", "1 OR 1=1"], "valid integer"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(tmp_path: Path, args: list[str], needle: str) -> None:
    res = cli(tmp_path, *args)
    assert res.returncode == 2, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize("url", ["mysql://root@localhost/db", "not a url"])
def test_an_unsupported_database_url_names_the_variable(tmp_path: Path, url: str) -> None:
    res = cli(tmp_path, "status", env={"AIMANAGER_DATABASE_URL": url})
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith("error: AIMANAGER_DATABASE_URL: "), res.stderr
    assert "unsupported database" in res.stderr and "Traceback" not in res.stderr


def test_a_broken_command_plugin_costs_only_its_own_commands(tmp_path: Path) -> None:
    # An installed entry point whose module cannot be imported (a plugin missing a dependency).
    dist = tmp_path / "site" / "broken_plugin-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[aimanager.commands]\nbroken = no_such_module_xyz:register\n")
    res = cli(tmp_path, "--help", env={"PYTHONPATH": str(tmp_path / "site")})
    assert res.returncode == 0, res.stderr
    assert "no_such_module_xyz" in res.stderr and "Traceback" not in res.stderr
    assert "worker" in res.stdout and "demo" in res.stdout  # the product's and the other plugins' commands
