"""The five sandboxes (LLM + four marketplaces) in a process of their own.

Run in-process (``BackgroundServer`` threads) the sandboxes compete with the product for the GIL; this
module moves them out::

    python -m aimanager_sandbox.world --time-scale 0.01 --llm-error-rate 0.05 --market-error-rate 0.02

serves every sandbox app on 127.0.0.1 (free ports, one uvicorn server each, all on one event loop),
prints ONE line of JSON to stdout — ``{"llm": "http://127.0.0.1:…", "wildberries": …, "ozon": …,
"yandex": …, "uzum": …}`` — and serves until SIGTERM/SIGINT. ``--exit-with-parent`` also stops it when
the process that started it dies (what ``RemoteWorld`` passes, so a crashed test leaves nothing behind).

``remote_world.RemoteWorld`` is the client side: it spawns this process and drives it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import IO, Any

import uvicorn

from aimanager.domain.enums import Marketplace
from aimanager_sandbox.common.serving import LOOPBACK, loopback_socket

NAMES: tuple[str, ...] = ("llm", "wildberries", "ozon", "yandex", "uzum")


@dataclass(frozen=True)
class WorldOptions:
    """How the sandboxes behave (the CLI flags; the same defaults as ``SandboxWorld``)."""

    time_scale: float = 1.0
    llm_error_rate: float = 0.0
    market_error_rate: float = 0.0
    llm_rpm: int = 4000
    llm_otpm: int = 800_000
    llm_latency_min: float = 2.0
    llm_latency_max: float = 5.0

    def argv(self) -> list[str]:
        return [
            f"--time-scale={self.time_scale!r}",
            f"--llm-error-rate={self.llm_error_rate!r}",
            f"--market-error-rate={self.market_error_rate!r}",
            f"--llm-rpm={self.llm_rpm}",
            f"--llm-otpm={self.llm_otpm}",
            f"--llm-latency-min={self.llm_latency_min!r}",
            f"--llm-latency-max={self.llm_latency_max!r}",
        ]


# --- server side ------------------------------------------------------------------------------------
def build_apps(options: WorldOptions) -> dict[str, Any]:
    """The five sandbox apps by name (``llm``, then the marketplaces), configured like ``SandboxWorld``."""
    from aimanager_sandbox.common.sandbox import FaultConfig, SandboxConfig
    from aimanager_sandbox.llm import SandboxConfig as LLMSandboxConfig
    from aimanager_sandbox.llm import create_app as create_llm_app
    from aimanager_sandbox.marketplaces import SANDBOXES

    half = options.llm_error_rate / 2
    apps: dict[str, Any] = {
        "llm": create_llm_app(
            LLMSandboxConfig(
                time_scale=options.time_scale,
                latency_min_s=options.llm_latency_min,
                latency_max_s=options.llm_latency_max,
                rpm=options.llm_rpm,
                otpm=options.llm_otpm,
                error_500_rate=half,
                overload_rate=half,
            )
        )
    }
    for market in Marketplace:
        faults = FaultConfig(error_rate=options.market_error_rate)
        apps[market.value] = SANDBOXES[market](SandboxConfig(time_scale=options.time_scale, faults=faults))
    return apps


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals alone: ``serve_world`` handles them once for all five."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def serve_world(
    options: WorldOptions, *, exit_with_parent: bool = False, out: IO[str] | None = None
) -> None:
    """Serve every sandbox until SIGTERM/SIGINT; print the URLs as one JSON line once all accept."""
    apps = build_apps(options)
    sockets = {name: loopback_socket() for name in apps}
    servers = {
        name: _Server(
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
        urls = {name: f"http://{LOOPBACK}:{sockets[name].getsockname()[1]}" for name in NAMES}
        stream = out or sys.stdout
        stream.write(json.dumps(urls) + "\n")
        stream.flush()
        if out is None:
            # Nothing but that line goes to stdout: later stray writes land in stderr, so a parent that
            # reads one line and then never drains the pipe cannot block us.
            os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
        parent = os.getppid()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)
            if exit_with_parent and os.getppid() != parent:
                break
            if any(task.done() for task in tasks.values()):
                break  # a server died: take the others down too rather than serve a partial world
    finally:
        for server in servers.values():
            server.should_exit = True
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        for sock in sockets.values():
            sock.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m aimanager_sandbox.world", description=__doc__.split("\n")[0]
    )
    defaults = WorldOptions()
    parser.add_argument("--time-scale", type=float, default=defaults.time_scale)
    parser.add_argument("--llm-error-rate", type=float, default=defaults.llm_error_rate)
    parser.add_argument("--market-error-rate", type=float, default=defaults.market_error_rate)
    parser.add_argument("--llm-rpm", type=int, default=defaults.llm_rpm)
    parser.add_argument("--llm-otpm", type=int, default=defaults.llm_otpm)
    parser.add_argument("--llm-latency-min", type=float, default=defaults.llm_latency_min)
    parser.add_argument("--llm-latency-max", type=float, default=defaults.llm_latency_max)
    parser.add_argument("--exit-with-parent", action="store_true", help="stop when the parent process dies")
    args = parser.parse_args(argv)
    options = WorldOptions(
        time_scale=args.time_scale,
        llm_error_rate=args.llm_error_rate,
        market_error_rate=args.market_error_rate,
        llm_rpm=args.llm_rpm,
        llm_otpm=args.llm_otpm,
        llm_latency_min=args.llm_latency_min,
        llm_latency_max=args.llm_latency_max,
    )
    asyncio.run(serve_world(options, exit_with_parent=args.exit_with_parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
