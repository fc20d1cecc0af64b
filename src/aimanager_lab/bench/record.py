"""Writes benchmark figures into BENCHMARKS.md, one marked section per benchmark.

Each ``aimanager bench X`` replaces only its own section, so the file keeps every benchmark's latest
figures together with the command that produced them.
"""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from pathlib import Path

HEADER = (
    "# Benchmarks\n\nFigures written by `aimanager bench …`; each section names the command that made it.\n"
)


def python_speed_ns() -> float:
    """Nanoseconds per iteration of a plain CPython loop: a yardstick for comparing figures taken on
    different machines (the same code measured 3x apart on two 2-CPU machines of this workplace)."""
    import time

    n = 2_000_000
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(n):
            total += i
        best = min(best, time.perf_counter() - started)
    return best / n * 1e9


def machine_line() -> str:
    """A one-line description of where the figures were measured."""
    import os

    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}, a CPython loop iteration takes "
        f"{python_speed_ns():.0f} ns"
    )


def write_section(name: str, markdown: str, path: Path | str = "BENCHMARKS.md") -> Path:
    """Replace (or append) the section ``name`` of ``path`` with ``markdown``."""
    target = Path(path)
    text = target.read_text() if target.exists() else HEADER
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    block = f"{start}\n{markdown.rstrip()}\n{end}"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    target.write_text(text)
    return target
