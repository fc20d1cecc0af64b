"""Chaos tests: real worker processes, real PostgreSQL, faults injected from outside.

Marked ``chaos`` and ``long``: ``make test-long`` runs them, and CI runs it after ``make test``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from aimanager_lab.servers import OwnPostgres, pg_bin

__all__ = ["OwnPostgres", "own_postgres"]


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    bindir = pg_bin()
    if bindir is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("PostgreSQL server binaries are not installed (CI=true: a failure)")
        pytest.skip("!!! SKIPPED: PostgreSQL server binaries (initdb, pg_ctl) are not installed !!!")
    tmp = Path(tempfile.mkdtemp(prefix="aim-chaos-pg-"))
    server = OwnPostgres(bindir, tmp / "data")
    server.init()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
