"""CLI commands registered on the root app (see cli/app.py)."""

from __future__ import annotations

from aimanager.cli.app import app, bench_app, jobs_app, sandbox_app  # noqa: F401
