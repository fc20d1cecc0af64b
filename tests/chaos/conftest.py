"""Chaos tests: real worker processes, real PostgreSQL, faults injected from outside.

Marked ``chaos`` and ``long``: ``make test-long`` runs them, and CI runs it after ``make test``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def _pg_bin() -> Path | None:
    root = Path("/usr/lib/postgresql")
    versions = sorted(root.iterdir(), key=lambda p: p.name) if root.is_dir() else []
    for version in reversed(versions):
        if (version / "bin" / "pg_ctl").exists():
            return version / "bin"
    return None


class OwnPostgres:
    """A throwaway PostgreSQL cluster on a free loopback port, restartable at will: restarting the
    shared server would break every other test running against it."""

    def __init__(self, bindir: Path, datadir: Path) -> None:
        self.bindir = bindir
        self.datadir = datadir
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self.datadir.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.datadir.parent, "postgres")
            shutil.chown(self.datadir, "postgres")
        self._run("initdb", "-D", str(self.datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def _ctl(self, action: str, *extra: str) -> None:
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.datadir}"
        self._run("pg_ctl", "-D", str(self.datadir), "-o", opts, "-w", "-t", "60", action, *extra)

    def start(self) -> None:
        self._ctl("start", "-l", str(self.datadir / "log"))

    def restart(self) -> float:
        """``restart -m fast``; returns the seconds the server was away."""
        t0 = time.monotonic()
        self._ctl("restart", "-m", "fast", "-l", str(self.datadir / "log"))
        return time.monotonic() - t0

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._ctl("stop", "-m", "immediate")


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    bindir = _pg_bin()
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
