"""Structured logging with stable event names (structlog over the standard library).

Every log call names an event (``job.claimed``, ``llm.call``) and passes fields as keywords. Secrets are
redacted by key name before rendering, so a token passed by mistake never reaches a log sink.

Quiet by default: an operator watching ``aimanager worker`` wants one line per job, not one per HTTP
request. Levels are per logger name, so the job-outcome logger (``OUTCOME_LOGGER``) can speak at INFO
while everything else stays at WARNING:

=========  ==================================  =====================================================
verbosity  product (``aimanager.*``)            libraries
=========  ==================================  =====================================================
0          WARNING + one line per job           WARNING (httpx, httpcore, sqlalchemy, asyncio …)
1 (-v)     INFO: every structured event         WARNING
2 (-vv)    DEBUG                                INFO (httpx's line per request); pools stay quiet
3 (-vvv)   DEBUG                                DEBUG, everything
=========  ==================================  =====================================================

``-v`` is the operator's explicit ask and wins; otherwise a level the caller passes (the worker passes
``AIMANAGER_LOG_LEVEL``; the lab's benchmarks pass ERROR) sets the product's level.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from aimanager.errors import ConfigError

_SECRET_KEYS = re.compile(r"(token|secret|password|api[_-]?key|authorization|credential)", re.I)
# One line per finished, retried or failed job comes from this logger; it speaks in quiet mode too.
OUTCOME_LOGGER = "aimanager.jobs.outcome"
# Loggers that talk per request or per pooled connection: off unless asked for with -vv or more.
NOISY = ("httpx", "httpcore", "hpack", "urllib3", "uvicorn", "uvicorn.access", "multipart", "aiosqlite")
# ``aimanager.db.pool`` is SQLAlchemy's pool logger for our pool class (named after its module).
POOLS = ("sqlalchemy", "sqlalchemy.pool", "sqlalchemy.engine", "asyncio", "asyncpg", "aimanager.db.pool")

_HANDLER = "aimanager.stderr"
_verbosity = 0


def set_verbosity(count: int) -> None:
    """Remember the CLI's ``-v`` count (0 = quiet) for every later ``configure`` in this process."""
    global _verbosity
    _verbosity = max(0, int(count))


def verbosity() -> int:
    return _verbosity


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if _SECRET_KEYS.search(key):
            event[key] = "***"
    return event


_CONSOLE = structlog.dev.ConsoleRenderer(colors=False)
_QUOTED = frozenset(" \t=\r\n\"'")
_PLAIN_EXTRAS = frozenset(("stack", "exception", "exc_info", "logger", "logger_name"))


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return repr(value) if _QUOTED.intersection(value) else value
    return repr(value)


def console_line(logger: Any, name: str, event: MutableMapping[str, Any]) -> str:
    """What ``ConsoleRenderer(colors=False)`` writes, built in a few microseconds instead of tens: the
    outcome line is written once per job, and at thousands of jobs a second the generic renderer was
    half a worker's CPU. Anything unusual (a traceback, a non-text event) goes to the generic one."""
    msg = event.get("event")
    if not isinstance(msg, str) or not _PLAIN_EXTRAS.isdisjoint(event):
        return str(_CONSOLE(logger, name, event))
    head = []
    if (ts := event.pop("timestamp", None)) is not None:
        head.append(str(ts))
    if (lvl := event.pop("level", None)) is not None:
        head.append(f"[{lvl:<9}]")
    del event["event"]
    head.append(msg.ljust(30))
    head.extend(f"{key}={_shown(event[key])}" for key in sorted(event))
    return " ".join(head).rstrip(" ")


def levels(level: str | None = None, count: int | None = None) -> dict[str, int]:
    """The stdlib level of each logger name for a verbosity ``count`` and a caller's ``level``.

    ``""`` is the root (libraries); ``aimanager`` the product; the outcome logger its own line.
    """
    count = _verbosity if count is None else count
    if count >= 1:
        product = logging.INFO if count == 1 else logging.DEBUG
    elif level:
        product = logging.getLevelName(level.upper())
        if not isinstance(product, int):
            raise ConfigError(
                f"AIMANAGER_LOG_LEVEL: unknown log level {level!r}; use DEBUG, INFO, WARNING or ERROR"
            )
    else:
        product = logging.WARNING
    out = {
        "": logging.WARNING if count < 3 else logging.DEBUG,
        "aimanager": product,
        OUTCOME_LOGGER: min(product, logging.INFO),
    }
    for name in NOISY:
        out[name] = logging.INFO if count == 2 else logging.DEBUG if count >= 3 else logging.WARNING
    for name in POOLS:
        out[name] = logging.DEBUG if count >= 3 else logging.WARNING
    return out


def configure(level: str | None = None, json: bool = False, *, count: int | None = None) -> None:
    """Configure structlog and the stdlib loggers for this process (again: the last call wins).

    ``level`` is the caller's default for the product (None: quiet); ``count`` the ``-v`` count
    (None: what ``set_verbosity`` stored). Everything goes to stderr: stdout is for command output.
    """
    renderer: Any = structlog.processors.JSONRenderer() if json else console_line
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.set_name(_HANDLER)
    root = logging.getLogger()
    # Only our own earlier handler goes: a host's handlers (pytest's capture, an embedding app) stay.
    for old in [h for h in root.handlers if h.get_name() == _HANDLER]:
        root.removeHandler(old)
    root.addHandler(handler)
    for name, lvl in levels(level, count).items():
        logging.getLogger(name or None).setLevel(lvl)
    structlog.configure(
        processors=[
            # Per-logger levels: a structlog call below its logger's stdlib level costs one check.
            structlog.stdlib.filter_by_level,
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            renderer,
        ],
        wrapper_class=structlog.stdlib.BoundLogger,
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    """A bound structured logger for a module."""
    return structlog.get_logger(name)
