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


def machine_line() -> str:
    """A one-line description of where the figures were measured."""
    import os

    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}"
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
