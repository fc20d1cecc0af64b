"""Quiet logs by default: one line per job; ``-v`` for the structured events; library noise only on ask."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from aimanager import logs
from aimanager.errors import ConfigError


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIMANAGER_")}
    return subprocess.run(
        [sys.executable, "-m", "aimanager", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_quiet_worker_prints_one_line_per_job_and_v_adds_events(tmp_path: Path) -> None:
    assert cli(tmp_path, "init").returncode == 0
    assert cli(tmp_path, "jobs", "enqueue", "noop", "--count", "3", "--partner", "7").returncode == 0
    res = cli(tmp_path, "worker", "--until-idle")
    assert res.returncode == 0, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 3, res.stderr
    for line in lines:
        assert "job.done" in line and "kind=noop" in line and "partner=7" in line and "ms=" in line
    assert "3 succeeded" in res.stdout  # the summary is output, not a log line

    assert cli(tmp_path, "jobs", "enqueue", "noop").returncode == 0
    res = cli(tmp_path, "-v", "worker", "--until-idle")
    assert res.returncode == 0, res.stderr
    assert "worker.started" in res.stderr and "worker.stopped" in res.stderr
    assert res.stderr.count("job.done") == 1
    assert "Pool" not in res.stderr  # the connection pool's chatter stays off at -v


@pytest.fixture
def restored() -> Iterator[None]:
    names = list(logs.levels(count=3))
    before = {name: logging.getLogger(name or None).level for name in names}
    config = structlog.get_config()
    try:
        yield
    finally:
        for name, level in before.items():
            logging.getLogger(name or None).setLevel(level)
        root = logging.getLogger()
        for handler in [h for h in root.handlers if h.get_name() == "aimanager.stderr"]:
            root.removeHandler(handler)
        structlog.configure(**config)


def emit() -> None:
    logs.get_logger("aimanager.connectors.http").info("http.request", path="/v1/x")
    logs.get_logger(logs.OUTCOME_LOGGER).info("job.done", job_id=1)
    logging.getLogger("httpx").info("HTTP Request: POST http://x/v1 200")
    logging.getLogger("aimanager.db.pool.PriorityQueuePool").info("Pool recreating")


@pytest.mark.parametrize(
    ("count", "level", "shown", "hidden"),
    [
        (0, None, ["job.done"], ["http.request", "HTTP Request", "Pool recreating"]),
        (0, "INFO", ["job.done", "http.request"], ["HTTP Request", "Pool recreating"]),
        (1, "ERROR", ["job.done", "http.request"], ["HTTP Request", "Pool recreating"]),
        (2, None, ["job.done", "http.request", "HTTP Request"], ["Pool recreating"]),
    ],
)
def test_levels_by_verbosity(
    restored: None,
    capsys: pytest.CaptureFixture[str],
    count: int,
    level: str | None,
    shown: list[str],
    hidden: list[str],
) -> None:
    logs.configure(level, count=count)
    emit()
    err = capsys.readouterr().err
    for text in shown:
        assert text in err, (count, level, err)
    for text in hidden:
        assert text not in err, (count, level, err)


def test_an_unknown_level_is_refused(restored: None) -> None:
    with pytest.raises(ConfigError, match="LOUD"):
        logs.configure("LOUD", count=0)
