"""The llm package's shape: a light offline writer and a lazy public namespace."""

from __future__ import annotations

import importlib
import subprocess
import sys

import aimanager.llm


def test_offline_writer_imports_without_sqlalchemy() -> None:
    # A fresh interpreter: this test process has long imported SQLAlchemy.
    code = "import sys, aimanager.llm.offline; assert 'sqlalchemy' not in sys.modules, 'sqlalchemy loaded'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_every_public_name_resolves_to_its_home_module() -> None:
    homes = aimanager.llm._HOMES
    assert sorted(homes) == sorted(aimanager.llm.__all__)
    for name, home in homes.items():
        module = importlib.import_module(f"aimanager.llm.{home}")
        assert getattr(aimanager.llm, name) is getattr(module, name)
