"""The registry of every job kind the product runs (built-ins plus the pipelines' kinds)."""

from __future__ import annotations

from typing import Any

from aimanager.jobs.builtin import builtin_registry
from aimanager.jobs.registry import Registry
from aimanager.settings import Settings


async def build_registry(settings: Settings, backend: Any) -> Registry:
    """All handlers a worker process can run, wired to the services they need."""
    return builtin_registry()


def known_kinds() -> list[str]:
    """Job kinds that exist, for validating enqueue requests without building services."""
    return builtin_registry().kinds
