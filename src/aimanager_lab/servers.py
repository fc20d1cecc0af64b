"""Throwaway servers for the chaos tests and the recovery benchmark: a PostgreSQL cluster and a
``redis-server`` of our own, each on a free loopback port in a temporary directory.

Faults are injected into these, never into the shared servers: restarting the PostgreSQL on 5432 or
stopping the Redis on 6379 would break every other test and benchmark running against them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg_bin() -> Path | None:
    """The ``bin`` directory of the newest PostgreSQL server installed (Debian layout), or None."""
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
        self.port = free_port()
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
        """``restart -m fast``; returns the seconds the server was away (``-w``: until it accepts)."""
        t0 = time.monotonic()
        self._ctl("restart", "-m", "fast", "-l", str(self.datadir / "log"))
        return time.monotonic() - t0

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._ctl("stop", "-m", "immediate")

    def database_url(self, name: str) -> str:
        """The asyncpg URL of database ``name`` on this cluster."""
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    async def create_database(self, name: str) -> str:
        """Create the empty database ``name``; returns its URL."""
        import asyncpg

        conn = await asyncpg.connect(host="127.0.0.1", port=self.port, user="postgres", database="postgres")
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.database_url(name)


class OwnRedis:
    """A throwaway ``redis-server`` (no persistence) that can be killed and started again on its port,
    as a restarted server comes back."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited at start ({self.proc.returncode})")
            if time.monotonic() > deadline:
                raise TimeoutError("redis-server did not accept connections in 10 s")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
