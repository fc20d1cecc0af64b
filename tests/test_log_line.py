"""The quiet-mode line is built by ``logs.console_line`` (fast) and must read exactly as structlog's
``ConsoleRenderer(colors=False)`` would write it, for any event an operator's log could hold."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from aimanager.logs import _CONSOLE, console_line

KEYS = st.text(alphabet=st.characters(categories=("Ll", "Lu", "Nd"), include_characters="_"), min_size=1)
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(),
    st.lists(st.integers(), max_size=3),
)


@given(
    event=st.text(min_size=0, max_size=40),
    level=st.sampled_from(["debug", "info", "warning", "error", "critical"]),
    fields=st.dictionaries(KEYS, VALUES, max_size=6),
    stamp=st.booleans(),
)
def test_the_fast_line_is_the_console_renderers_line(
    event: str, level: str, fields: dict[str, Any], stamp: bool
) -> None:
    # The columns, and the keys the fast line hands to the generic renderer (tracebacks, logger names).
    taken = ("event", "level", "timestamp", "stack", "exception", "exc_info", "logger", "logger_name")
    fields = {k: v for k, v in fields.items() if k not in taken}
    record: dict[str, Any] = {"event": event, "level": level, **fields}
    if stamp:
        record["timestamp"] = "2026-11-30T10:00:00.123456Z"
    assert console_line(None, level, dict(record)) == _CONSOLE(None, level, dict(record))


def test_a_traceback_goes_to_the_generic_renderer() -> None:
    try:
        raise ValueError("boom")
    except ValueError as exc:
        record = {"event": "job.failed", "level": "error", "exc_info": exc}
        line = console_line(None, "error", dict(record))
    assert "Traceback" in line and "ValueError: boom" in line
