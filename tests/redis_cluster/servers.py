"""Throwaway Redis servers for tests: one server, or a real three-master Redis Cluster.

Each runs ``redis-server`` on free loopback ports in a temporary directory and can be stopped and
started again with the same arguments (a Cluster master comes back with its ``nodes.conf``: same id,
same slots). The shared server on 6379 is never touched. Without ``redis-server`` the tests skip
loudly, and fail under ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def require_redis_binaries() -> None:
    missing = [b for b in ("redis-server", "redis-cli") if shutil.which(b) is None]
    if not missing:
        return
    msg = f"{' and '.join(missing)} not installed"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{msg} (CI=true: a missing server is a failure)")
    pytest.skip(f"!!! SKIPPED: {msg}; install redis-server to run this test !!!")


def _free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int, *, with_bus: bool = False) -> list[int]:
    """``count`` free loopback ports (and their Cluster bus ports, port + 10000, when asked)."""
    found: list[int] = []
    while len(found) < count:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port in found or (with_bus and (port + 10000 > 65535 or not _free(port + 10000))):
            continue
        found.append(port)
    return found


def _wait_port(port: int, up: bool, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if (s.connect_ex(("127.0.0.1", port)) == 0) == up:
                return
        time.sleep(0.02)
    raise RuntimeError(f"redis-server on {port} did not {'start' if up else 'stop'}")


class OwnRedis:
    """One ``redis-server`` process (``extra`` arguments added), stoppable and restartable."""

    def __init__(self, port: int, directory: Path, extra: list[str] | None = None) -> None:
        self.port = port
        self.directory = directory
        self.extra = extra or []
        self.proc: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "no", "--dir", str(self.directory), *self.extra]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_port(self.port, up=True)

    def stop(self) -> None:
        """Kill the server (a crash: nothing is saved) and wait until its port is closed."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None
            _wait_port(self.port, up=False)

    def cli(self, *args: str) -> str:
        out = subprocess.run(
            ["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True, timeout=30, check=True
        )
        return out.stdout


class OwnCluster:
    """Three masters, no replicas, all 16,384 slots covered. ``url`` is the product's Cluster URL
    (``redis+cluster://`` with every node as a startup node)."""

    def __init__(self, directory: Path, masters: int = 3) -> None:
        ports = free_ports(masters, with_bus=True)
        self.nodes = [
            OwnRedis(
                port,
                directory / str(port),
                # A master that stops answering is marked failed after a second (the default 15 s
                # would make a restart test wait that long for the cluster to notice).
                [
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "1000",
                ],
            )
            for port in ports
        ]

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *(f"127.0.0.1:{n.port}" for n in self.nodes),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        self.wait_ok()

    def wait_ok(self, timeout: float = 30.0) -> None:
        """Until every running node says ``cluster_state:ok``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all("cluster_state:ok" in n.cli("cluster", "info") for n in self.nodes if n.proc):
                return
            time.sleep(0.05)
        raise RuntimeError("the Redis Cluster did not reach cluster_state:ok")

    def restart_master(self, index: int) -> None:
        node = self.nodes[index]
        node.stop()
        node.start()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def started_cluster(directory: Path) -> Iterator[OwnCluster]:
    require_redis_binaries()
    cluster = OwnCluster(directory)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def started_redis(directory: Path) -> Iterator[OwnRedis]:
    require_redis_binaries()
    server = OwnRedis(free_ports(1)[0], directory)
    try:
        server.start()
        yield server
    finally:
        server.stop()
