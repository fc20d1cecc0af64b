"""``aimanager import`` then ``aimanager run``, as a new operator types them: what was not planned is said."""

from __future__ import annotations

from pathlib import Path

from aimanager_lab.sample_catalog import generate_catalog, write_catalog
from tests.test_cli_errors import cli


def test_run_without_accounts_says_why_nothing_was_queued(tmp_path: Path) -> None:
    assert cli(tmp_path, "init").returncode == 0
    catalog = write_catalog(tmp_path / "catalog.csv", generate_catalog(partners=1, skus=2))
    imported = cli(tmp_path, "import", str(catalog))
    assert imported.returncode == 0, imported.stdout + imported.stderr
    run = cli(tmp_path, "run", "-c", "pricing")
    assert run.returncode == 0, run.stderr
    assert "nothing to do" in run.stdout
    assert "skipped: partner 1: no active uzum integration" in run.stdout, run.stdout
