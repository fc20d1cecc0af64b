"""Run a sandbox ASGI app on a loopback port in a background thread with its own event loop.

Tests, the demo and the benchmarks start sandboxes this way; product code only ever sees the base URL.
The server binds 127.0.0.1 only: sandboxes stand in for the internet and must never face it.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
from collections.abc import Callable, Generator, Mapping
from types import TracebackType
from typing import Any

import uvicorn

LOOPBACK = "127.0.0.1"


def loopback_socket(port: int = 0) -> socket.socket:
    """A socket bound to 127.0.0.1:``port`` (0 picks a free port), ready to hand to uvicorn."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit TCP_NODELAY on Linux. Without it, a response written in two
    # pieces waits for the client's delayed ACK (Nagle): 40 ms on every loopback request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((LOOPBACK, port))
    return sock


class BackgroundServer:
    """A uvicorn server for ``app`` on 127.0.0.1 (port 0 picks a free port)."""

    def __init__(self, app: Any, *, port: int = 0, log_level: str = "warning") -> None:
        self.app = app
        self._sock = loopback_socket(port)
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            app, log_level=log_level, lifespan="off", access_log=False, timeout_keep_alive=30
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> str:
        """Start serving; returns the base URL once the socket accepts connections."""
        self._thread = threading.Thread(target=self._run, name=f"sandbox:{self.port}", daemon=True)
        self._thread.start()
        started = threading.Event()

        def _wait() -> None:
            while not self._server.started and self._thread is not None and self._thread.is_alive():
                threading.Event().wait(0.01)
            started.set()

        _wait()
        if not self._server.started:
            raise RuntimeError(f"sandbox server on port {self.port} failed to start")
        return self.base_url

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._sock]))

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> BackgroundServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signals alone: ``serve_apps`` handles them once for all of them."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def serve_apps(
    apps: Mapping[str, Any],
    on_ready: Callable[[dict[str, str]], None],
    *,
    still_wanted: Callable[[], bool] = lambda: True,
) -> None:
    """Serve every app on its own loopback port in this event loop until SIGTERM/SIGINT, a server dies
    (the others go down too rather than serve a partial world) or ``still_wanted`` says no; calls
    ``on_ready`` with each app's base URL once all of them accept connections."""
    sockets = {name: loopback_socket() for name in apps}
    servers = {
        name: _QuietServer(
            uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False, timeout_keep_alive=30)
        )
        for name, app in apps.items()
    }
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tasks = {
        name: asyncio.create_task(server.serve(sockets=[sockets[name]]), name=f"sandbox:{name}")
        for name, server in servers.items()
    }
    try:
        while not all(s.started for s in servers.values()):
            failed = [name for name, task in tasks.items() if task.done()]
            if failed:
                raise RuntimeError(f"sandbox servers failed to start: {', '.join(failed)}")
            await asyncio.sleep(0.01)
        on_ready({name: f"http://{LOOPBACK}:{sockets[name].getsockname()[1]}" for name in apps})
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)
            if not still_wanted() or any(task.done() for task in tasks.values()):
                break
    finally:
        for server in servers.values():
            server.should_exit = True
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        for sock in sockets.values():
            sock.close()
