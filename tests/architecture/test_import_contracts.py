"""The import contracts in pyproject.toml hold, and they do catch a violation.

``lint-imports`` reads the contracts from ``[tool.importlinter]``; the second test copies the source
tree, plants one forbidden import and checks that the same contracts then fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is a dev dependency")


def _lint(cwd: Path, src: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_tree_keeps_every_contract() -> None:
    result = _lint(ROOT, ROOT / "src")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "planted", "contract"),
    [
        ("aimanager/domain/money.py", "import aimanager.db.models", "product layers point down"),
        ("aimanager/jobs/errors.py", "import aimanager.llm.errors", "product layers point down"),
        ("aimanager/connectors/errors.py", "import aimanager_sandbox", "never imports the sandboxes"),
        ("aimanager/settings.py", "import fastapi", "only the HTTP face"),
    ],
)
def test_a_planted_violation_breaks_its_contract(
    tmp_path: Path, module: str, planted: str, contract: str
) -> None:
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src", src, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = src / module
    target.write_text(target.read_text() + f"\n{planted}  # planted by the test\n")
    result = _lint(tmp_path, src)
    assert result.returncode != 0, result.stdout
    # The report wraps long names to the terminal's width: read the broken section as one line of words.
    assert "Broken contracts" in result.stdout, result.stdout
    broken = " ".join(result.stdout.split("Broken contracts", 1)[1].split())
    assert contract in broken, result.stdout
