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
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

from aimanager.domain.enums import Marketplace
from aimanager_sandbox.common.serving import serve_apps

NAMES: tuple[str, ...] = ("llm", "wildberries", "ozon", "yandex", "uzum")


@dataclass(frozen=True)
class WorldOptions:
    """How the sandboxes behave (the CLI flags; the same defaults as ``SandboxWorld``).

    The LLM sandbox is realistic unless told otherwise: ``llm_error_rate`` None keeps its default
    429/500/529 rates (a number: half 500, half 529, no random 429), ``llm_bad_answer_rate`` None its
    default imperfect answers (a number: that total spread over every kind), ``llm_batch_seconds`` None
    its 5-60 minute batch turnaround.
    """

    time_scale: float = 1.0
    llm_error_rate: float | None = 0.0
    market_error_rate: float = 0.0
    llm_rpm: int = 4000
    llm_otpm: int = 800_000
    llm_ttft_min_s: float = 0.5
    llm_ttft_max_s: float = 1.0
    llm_tps_min: float = 100.0
    llm_tps_max: float = 200.0
    llm_bad_answer_rate: float | None = None
    llm_batch_seconds: float | None = None

    def argv(self) -> list[str]:
        args = [
            f"--time-scale={self.time_scale!r}",
            f"--market-error-rate={self.market_error_rate!r}",
            f"--llm-rpm={self.llm_rpm}",
            f"--llm-otpm={self.llm_otpm}",
            f"--llm-ttft-min-s={self.llm_ttft_min_s!r}",
            f"--llm-ttft-max-s={self.llm_ttft_max_s!r}",
            f"--llm-tps-min={self.llm_tps_min!r}",
            f"--llm-tps-max={self.llm_tps_max!r}",
        ]
        optional = {
            "--llm-error-rate": self.llm_error_rate,
            "--llm-bad-answer-rate": self.llm_bad_answer_rate,
            "--llm-batch-seconds": self.llm_batch_seconds,
        }
        # None travels as "None" (the sandbox's own default), so the child parses back these very options.
        return args + [f"{flag}={value!r}" for flag, value in optional.items()]

    def llm_config(self) -> Any:
        """The LLM sandbox's ``SandboxConfig`` for these options."""
        from aimanager_sandbox.llm import SandboxConfig

        config = SandboxConfig(
            time_scale=self.time_scale,
            ttft_min_s=self.llm_ttft_min_s,
            ttft_max_s=self.llm_ttft_max_s,
            tps_min=self.llm_tps_min,
            tps_max=self.llm_tps_max,
            rpm=self.llm_rpm,
            otpm=self.llm_otpm,
            batch_seconds=self.llm_batch_seconds,
        )
        if self.llm_error_rate is not None:
            half = self.llm_error_rate / 2
            config.update({"error_500_rate": half, "overload_rate": half, "rate_limit_rate": 0.0})
        if self.llm_bad_answer_rate is not None:
            config.set_bad_answer_rate(self.llm_bad_answer_rate)
        return config


# --- server side ------------------------------------------------------------------------------------
def build_apps(options: WorldOptions) -> dict[str, Any]:
    """The five sandbox apps by name (``llm``, then the marketplaces), configured like ``SandboxWorld``."""
    from aimanager_sandbox.common.sandbox import FaultConfig, SandboxConfig
    from aimanager_sandbox.llm import create_app as create_llm_app
    from aimanager_sandbox.marketplaces import SANDBOXES

    apps: dict[str, Any] = {"llm": create_llm_app(options.llm_config())}
    for market in Marketplace:
        faults = FaultConfig(error_rate=options.market_error_rate)
        apps[market.value] = SANDBOXES[market](SandboxConfig(time_scale=options.time_scale, faults=faults))
    return apps


async def serve_world(
    options: WorldOptions, *, exit_with_parent: bool = False, out: IO[str] | None = None
) -> None:
    """Serve every sandbox until SIGTERM/SIGINT; print the URLs as one JSON line once all accept."""
    parent = os.getppid()

    def ready(urls: dict[str, str]) -> None:
        stream = out or sys.stdout
        stream.write(json.dumps({name: urls[name] for name in NAMES}) + "\n")
        stream.flush()
        if out is None:
            # Nothing but that line goes to stdout: later stray writes land in stderr, so a parent that
            # reads one line and then never drains the pipe cannot block us.
            os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    await serve_apps(
        build_apps(options), ready, still_wanted=lambda: not exit_with_parent or os.getppid() == parent
    )


def _optional_float(text: str) -> float | None:
    return None if text in ("", "None") else float(text)


def parse_args(argv: Sequence[str] | None = None) -> tuple[WorldOptions, bool]:
    """``(options, exit_with_parent)`` from the command line (``WorldOptions.argv`` gives it back)."""
    parser = argparse.ArgumentParser(
        prog="python -m aimanager_sandbox.world", description=__doc__.split("\n")[0]
    )
    defaults = WorldOptions()
    parser.add_argument("--time-scale", type=float, default=defaults.time_scale)
    parser.add_argument("--llm-error-rate", type=_optional_float, default=defaults.llm_error_rate)
    parser.add_argument("--market-error-rate", type=float, default=defaults.market_error_rate)
    parser.add_argument("--llm-rpm", type=int, default=defaults.llm_rpm)
    parser.add_argument("--llm-otpm", type=int, default=defaults.llm_otpm)
    parser.add_argument("--llm-ttft-min-s", type=float, default=defaults.llm_ttft_min_s)
    parser.add_argument("--llm-ttft-max-s", type=float, default=defaults.llm_ttft_max_s)
    parser.add_argument("--llm-tps-min", type=float, default=defaults.llm_tps_min)
    parser.add_argument("--llm-tps-max", type=float, default=defaults.llm_tps_max)
    parser.add_argument("--llm-bad-answer-rate", type=_optional_float, default=defaults.llm_bad_answer_rate)
    parser.add_argument("--llm-batch-seconds", type=_optional_float, default=defaults.llm_batch_seconds)
    parser.add_argument("--exit-with-parent", action="store_true", help="stop when the parent process dies")
    args = parser.parse_args(argv)
    options = WorldOptions(
        time_scale=args.time_scale,
        llm_error_rate=args.llm_error_rate,
        market_error_rate=args.market_error_rate,
        llm_rpm=args.llm_rpm,
        llm_otpm=args.llm_otpm,
        llm_ttft_min_s=args.llm_ttft_min_s,
        llm_ttft_max_s=args.llm_ttft_max_s,
        llm_tps_min=args.llm_tps_min,
        llm_tps_max=args.llm_tps_max,
        llm_bad_answer_rate=args.llm_bad_answer_rate,
        llm_batch_seconds=args.llm_batch_seconds,
    )
    return options, bool(args.exit_with_parent)


def main(argv: Sequence[str] | None = None) -> int:
    options, exit_with_parent = parse_args(argv)
    asyncio.run(serve_world(options, exit_with_parent=exit_with_parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
